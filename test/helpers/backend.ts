import * as tf from '@tensorflow/tfjs';
import { initBackend, probeBackends, type BackendPreference } from '../../src/backend/select.ts';

export type TestBackend = 'tensorflow' | 'wasm';

/**
 * The backends the backend-parametrised tests run on: every one that loads here, native first. `npm run native`
 * adds 'tensorflow'; wasm is always installed. (The cpu backend is the reference of the parity tests, not a target.)
 */
export const testBackends: TestBackend[] = (() => {
  const available = new Set(probeBackends().filter((probe) => probe.available).map((probe) => probe.kind));
  return [...(available.has('tensorflow') ? (['tensorflow'] as const) : []), ...(available.has('wasm') ? (['wasm'] as const) : [])];
})();

/** Where the other tests run: SLICESEQ_TEST_BACKEND if set, else the best backend that loads (native when built). */
export const defaultTestBackend: TestBackend = (() => {
  const requested = process.env.SLICESEQ_TEST_BACKEND;
  if (requested === undefined || requested === '') return testBackends[0] ?? 'wasm';
  if (requested !== 'tensorflow' && requested !== 'wasm') throw new Error(`SLICESEQ_TEST_BACKEND: expected tensorflow or wasm, got '${requested}'`);
  return requested;
})();

/** Activates a backend for a test file (quietly): the default test backend unless the test names one. */
export async function useBackend(preference: BackendPreference = defaultTestBackend): Promise<typeof tf> {
  await initBackend(preference, { quiet: true });
  return tf;
}
