import * as tf from '@tensorflow/tfjs';
import { initBackend, probeBackends, type BackendPreference } from '../../src/backend/select.ts';

export type TestBackend = 'tensorflow' | 'tensorflow-gpu' | 'wasm';

/**
 * SLICESEQ_TEST_BACKEND=tensorflow-gpu runs the backend-parametrised tests on the CUDA 12 build alone (`npm run
 * native -- --gpu`; .ci/run does so when its wheels are cached): on a machine without a GPU it computes on the CPU.
 */
const gpuBuildPass = process.env.SLICESEQ_TEST_BACKEND === 'tensorflow-gpu';

/**
 * The backends the backend-parametrised tests run on: every one that loads here, native first. `npm run native`
 * adds 'tensorflow'; wasm is always installed. (The cpu backend is the reference of the parity tests, not a target.)
 */
export const testBackends: TestBackend[] = (() => {
  if (gpuBuildPass) return ['tensorflow-gpu'];
  const available = new Set(probeBackends().filter((probe) => probe.available).map((probe) => probe.kind));
  return [...(available.has('tensorflow') ? (['tensorflow'] as const) : []), ...(available.has('wasm') ? (['wasm'] as const) : [])];
})();

/** The native build the native-backend tests load: the CPU build, or the CUDA 12 build in the GPU-build pass. */
export const nativeTestBackend: 'tensorflow' | 'tensorflow-gpu' = gpuBuildPass ? 'tensorflow-gpu' : 'tensorflow';

/** Where the other tests run: SLICESEQ_TEST_BACKEND if set, else the best backend that loads (native when built). */
export const defaultTestBackend: TestBackend = (() => {
  const requested = process.env.SLICESEQ_TEST_BACKEND;
  if (requested === undefined || requested === '') return testBackends[0] ?? 'wasm';
  if (requested !== 'tensorflow' && requested !== 'tensorflow-gpu' && requested !== 'wasm') {
    throw new Error(`SLICESEQ_TEST_BACKEND: expected tensorflow, tensorflow-gpu or wasm, got '${requested}'`);
  }
  return requested;
})();

/** Activates a backend for a test file (quietly): the default test backend unless the test names one. */
export async function useBackend(preference: BackendPreference = defaultTestBackend): Promise<typeof tf> {
  await initBackend(preference, { quiet: true });
  return tf;
}
