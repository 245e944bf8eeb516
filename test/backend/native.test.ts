import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGradientParity, relativeError } from '../../src/backend/gradient-parity.ts';
import { nativeKernelNames } from '../../src/backend/native-kernels.ts';
import { initBackend, nativePackage } from '../../src/backend/select.ts';
import { Rng } from '../../src/core/rng.ts';
import { TENSORFLOW_VERSION } from '../../scripts/native-setup.ts';
import { nativeTestBackend, testBackends } from '../helpers/backend.ts';

// The CPU build, or the CUDA 12 build in the GPU-build pass (SLICESEQ_TEST_BACKEND=tensorflow-gpu).
const native = testBackends.includes(nativeTestBackend);
const required = process.env.CI === 'true' || process.env.SLICESEQ_REQUIRE_NATIVE === '1';

describe('the native backend on CI', () => {
  // .ci/run builds it with `npm run native`: a silent fall-back to wasm must fail CI, not pass on the slower backend.
  it.runIf(required)('is built and loads with the pinned TensorFlow', async () => {
    expect(testBackends, `the ${nativeTestBackend} backend is not available: \`npm run native\` did not run or failed`).toContain(nativeTestBackend);
    const choice = await initBackend(nativeTestBackend, { quiet: true });
    // The CUDA 12 build on a machine without a GPU computes on the CPU: kind tensorflow.
    expect(['tensorflow', nativeTestBackend]).toContain(choice.kind);
    expect(choice.library?.tensorflow).toBe(TENSORFLOW_VERSION);
    expect(choice.library?.path).toMatch(nativeTestBackend === 'tensorflow' ? /tfjs-node[\\/]deps[\\/]lib$/ : /tfjs-node-gpu[\\/]deps[\\/]lib$/);
  });
});

function seeded(shape: number[], label: string): tf.Tensor {
  const rng = Rng.derive(5, label);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}

/** Runs `fn` on cpu and on the native backend from the same seeded inputs; returns both results' values. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; native: Float32Array[] }> {
  const values = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => [fn()].flat().map((t) => t.dataSync() as Float32Array));
  };
  await initBackend(nativeTestBackend, { quiet: true });
  const cpu = await values('cpu');
  return { cpu, native: await values('tensorflow') };
}

describe.skipIf(!native)('native backend (tfjs-node) kernels — skipped unless `npm run native` built it', () => {
  it('records the TensorFlow library, where it was loaded from, and its intra-op threads', async () => {
    const choice = await initBackend(nativeTestBackend, { quiet: true });
    expect(choice.library?.tensorflow).toMatch(/^2\.\d+\.\d+/);
    expect(choice.threads).toBeGreaterThanOrEqual(1);
    for (const name of nativeKernelNames) expect(tf.getKernel(name, 'tensorflow')).toBeDefined();
  });

  it('convolution gradients equal the cpu backend, explicit and numeric padding included', async () => {
    await initBackend(nativeTestBackend, { quiet: true });
    const report = await checkGradientParity({ candidate: 'tensorflow' });
    const failed = [...report.cases, ...(report.model ? [report.model] : [])].filter((r) => !r.pass);
    expect(failed.map((r) => `${r.name}: ${r.errors.map((e) => e.relativeError).join(', ')}`)).toEqual([]);
    expect(report.cases.some((c) => c.name.includes('explicit'))).toBe(true);
  });

  it('max pooling with numeric padding works forward and backward, as on cpu', async () => {
    const x = () => seeded([2, 7, 6, 3], 'pool-x');
    const { cpu, native: ours } = await onBoth(() => {
      const input = x();
      const pooled = tf.maxPool(input as tf.Tensor4D, 3, 2, 1);
      const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 3, 2, 1), seeded(pooled.shape, 'pool-w'))))(input);
      return [pooled, grad];
    });
    for (let i = 0; i < 2; i++) expect(relativeError(ours[i], cpu[i]).relativeError).toBeLessThan(1e-6);
  });

  it("ReLU's gradient (Step) keeps 0 for x ≤ 0, 1 for x > 0 and NaN for NaN; alpha ≠ 0 still works", async () => {
    await initBackend(nativeTestBackend, { quiet: true });
    const x = tf.tensor1d([-2, -0, 0, 1e-30, 3, Number.NaN]);
    expect(Array.from(tf.step(x).dataSync())).toEqual([0, 0, 0, 1, 1, Number.NaN]);
    expect(Array.from(tf.step(x, 0.5).dataSync())).toEqual([0.5, 0.5, 0.5, 1, 1, Number.NaN]);
    x.dispose();
  });
});

describe('npm run native', () => {
  const setup = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/native-setup.ts', ...args], { encoding: 'utf8', env: { ...process.env, SLICESEQ_CACHE_DIR: mkdtempSync(join(tmpdir(), 'native-cache-')) } });

  it.runIf(native)('is idempotent: a second run finds the build, checks that it loads and changes nothing', () => {
    const binding = nativePackage('@tensorflow/tfjs-node');
    const result = setup([]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already set up/);
    expect(result.stdout).toMatch(/backend tensorflow, TensorFlow \d+\.\d+\.\d+/);
    expect(nativePackage('@tensorflow/tfjs-node')).toEqual(binding);
  });

  it('fails before downloading anything, naming what is missing', () => {
    const result = setup(['--force', '--nodedir', '/nonexistent-node-headers']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/native: no Node headers found \(looked for include\/node\/node_api\.h under \/nonexistent-node-headers\)[\s\S]*libnode-dev/);
  });
});
