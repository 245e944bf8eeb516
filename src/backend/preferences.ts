/**
 * What a user may ask for as a backend. `tensorflow` is the native libtensorflow binding (the GPU build when it sees
 * a GPU, else the CPU build); `tensorflow-gpu` forces the GPU build (@tensorflow/tfjs-node-gpu), on the CPU when it
 * sees no GPU. This module loads nothing (no TensorFlow), so the CLI can list the choices in `--help` at once.
 */
export const backendPreferences = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof backendPreferences)[number];
