import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, probeBackends } from '../../src/backend/select.ts';
import { canLoadSharedLibrary, cudaPreflight } from '../../src/backend/cuda-preflight.ts';

describe('backend selection', () => {
  it('auto picks the best backend that loads and records why better ones were skipped', async () => {
    const choice = await initBackend('auto', { quiet: true });
    const probes = probeBackends();
    const firstAvailable = probes.find((probe) => probe.available)!;
    expect(choice.kind).toBe(firstAvailable.kind);
    expect(tf.getBackend()).toBe(choice.tfBackend);
    const order = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
    expect(choice.skipped.map((s) => s.kind)).toEqual(order.slice(0, order.indexOf(choice.kind)));
    for (const skipped of choice.skipped) expect(skipped.detail.length).toBeGreaterThan(10);
  });

  it('switches between wasm and cpu on request, and says which device computes', async () => {
    expect((await initBackend('cpu', { quiet: true })).device).toMatch(/JavaScript/);
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend('wasm', { quiet: true })).device).toMatch(/WebAssembly/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails at once, with an install hint, for a native backend that is not installed', async () => {
    const nativeInstalled = probeBackends().some((p) => p.kind.startsWith('tensorflow') && p.available);
    if (nativeInstalled) return; // on a machine with tfjs-node this request succeeds instead
    await expect(initBackend('tensorflow', { quiet: true })).rejects.toThrow(/npm install @tensorflow\/tfjs-node.*TFJS_NODE_CDN_STORAGE/);
  });

  it('the CUDA preflight really loads libraries and names the missing ones', () => {
    expect(canLoadSharedLibrary('libc.so.6')).toBe(true);
    expect(canLoadSharedLibrary('libdoes-not-exist.so.1')).toBe(false);
    const result = cudaPreflight(['libc.so.6', 'libdoes-not-exist.so.1']);
    expect(result.ok).toBe(false);
    expect(result.missing).toEqual(['libdoes-not-exist.so.1']);
    expect(result.summary).toMatch(/cannot load libdoes-not-exist\.so\.1/);
  });
});
