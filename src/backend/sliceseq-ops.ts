import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * sliceseq's own TensorFlow ops (native/tf-ops, C++ against TensorFlow's C API): one op where a fused kernel would
 * otherwise send dozens of tiny TF ops through tfjs-node's binding (about 10 µs each). `npm run native` builds the
 * module; loading it registers the ops with the process's TensorFlow (the libtensorflow_framework.so.2 that
 * tfjs-node loaded), and the fused kernels run them by name like any TF op. CPU kernels only, so the CPU package
 * only: on the GPU package the fused kernels keep TF's own ops.
 *
 * Each op has the per-op fused path as its twin (same inputs, the numbers within float32 rounding or bitwise, as
 * its module says); `SLICESEQ_TF_OPS=0` turns the ops off and that path runs (for comparison and the bench).
 */
export const SLICESEQ_OPS_PATH = fileURLToPath(new URL('../../native/tf-ops/build/Release/sliceseq_tf_ops.node', import.meta.url));

let ops: ReadonlySet<string> | null = null;
let problem = 'not loaded: the native CPU package is not in use';
let enabled = process.env.SLICESEQ_TF_OPS !== '0';

/** Loads the ops into TensorFlow; call after the CPU package is imported. Missing or refused: the twins run. */
export function loadSliceseqOps(): void {
  if (ops) return;
  if (!existsSync(SLICESEQ_OPS_PATH)) {
    problem = `not built (${SLICESEQ_OPS_PATH}): \`npm run native\` builds it`;
    return;
  }
  const module = createRequire(import.meta.url)(SLICESEQ_OPS_PATH) as { ops: string[]; error: string | null };
  if (module.error) {
    problem = `TensorFlow refused them: ${module.error}`;
    return;
  }
  ops = new Set(module.ops);
}

/** Whether the op `name` runs now: loaded, not turned off (fusion itself is checked by the callers' fusedActive()). */
export function sliceseqOpReady(name: string): boolean {
  return enabled && ops !== null && ops.has(name);
}

/** The names of the ops loaded (none before loadSliceseqOps, or when it could not load them). */
export function sliceseqOps(): string[] {
  return ops ? [...ops] : [];
}

/** Why the ops are not loaded (null when they are), for `sliceseq env` and the tests. */
export function sliceseqOpsProblem(): string | null {
  return ops ? null : problem;
}

/** For tests and the benchmark: turn the ops on or off in this process (returns the previous setting). */
export function setSliceseqOps(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}
