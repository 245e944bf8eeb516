/**
 * What a user may ask for as a backend. `tensorflow` is the native libtensorflow binding (GPU build first, then CPU
 * build). This module loads nothing (no TensorFlow), so the CLI can list the choices in `--help` at once.
 */
export const backendPreferences = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof backendPreferences)[number];
