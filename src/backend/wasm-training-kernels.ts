/** Placeholder replaced by the wasm conv-gradient work (issue 3.3); registers nothing yet. */
export function registerWasmTrainingKernels(): void {}
