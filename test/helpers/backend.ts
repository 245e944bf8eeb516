import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendPreference } from '../../src/backend/select.ts';

/** Activates a backend for a test file (quietly); tests run on wasm unless they say otherwise. */
export async function useBackend(preference: BackendPreference = 'wasm'): Promise<typeof tf> {
  await initBackend(preference, { quiet: true });
  return tf;
}
