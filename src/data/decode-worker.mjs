// Entry of the decode worker threads (decode-pool.ts): the sources are TypeScript, compiled on load by tsx as the
// main thread's are, so the worker runs the same code whether the main thread runs under tsx, vitest or bin/sliceseq.
import { tsImport } from 'tsx/esm/api';

const { decodeTask } = await tsImport('./decode-worker.ts', import.meta.url);
export default decodeTask;
