import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Rng } from '../core/rng.ts';
import { parseOrThrow } from '../core/validate.ts';
import { DataFileError, describeThrown } from './readers/errors.ts';
import { transforms, type SliceTransform } from './transforms/index.ts';
import type { Slice } from './types.ts';

/** One step of a preprocessing config: `{ name, ...options }` (options validated by the transform's schema). */
export const transformConfigSchema = z.object({ name: z.string().min(1) }).catchall(z.unknown());
export const preprocessConfigSchema = z.array(transformConfigSchema);
export type TransformConfig = z.infer<typeof transformConfigSchema>;

/** Bumped when a transform's arithmetic changes, so caches keyed on `fingerprint()` are not reused. */
const PREPROCESS_VERSION = 3;

export interface PreprocessApplyOptions {
  /** Training runs random augmentations; evaluation (false) skips them and is deterministic. */
  train: boolean;
  /** Where random parameters come from; required when training with random steps. */
  rng?: Rng;
  /** Draw random parameters per slice instead of once per patient (default: once per patient, a volume moves as one). */
  perSlice?: boolean;
}

interface Step {
  /** Resolved config: the transform's defaults filled in. */
  config: TransformConfig;
  transform: SliceTransform;
}

/**
 * A preprocessing pipeline built from a plain config list. Applies to a patient's slices (one volume):
 * random steps draw one set of parameters per patient (or per slice with `perSlice`) from the Rng passed in.
 *
 * For a cache: `prepare` runs the leading deterministic steps (its output depends only on the config and the
 * slices; `fingerprint()` keys it), `augment` the remaining steps in training mode, `finish` the remaining steps
 * in evaluation mode. `prepare` then `augment` (or `finish`) equals `apply` with train true (or false).
 */
export class Preprocess {
  private readonly prefixLength: number;

  constructor(private readonly steps: readonly Step[]) {
    const firstRandom = steps.findIndex((step) => step.transform.random);
    this.prefixLength = firstRandom === -1 ? steps.length : firstRandom;
  }

  /** The resolved config (defaults filled in), e.g. for a run's saved config. */
  config(): TransformConfig[] {
    return this.steps.map((step) => structuredClone(step.config));
  }

  /** Whether any step is a random augmentation. */
  hasRandomSteps(): boolean {
    return this.prefixLength < this.steps.length;
  }

  /** A stable hash of the resolved config (key order does not matter). */
  fingerprint(): string {
    const text = canonicalJson({ version: PREPROCESS_VERSION, steps: this.steps.map((step) => step.config) });
    return createHash('sha256').update(text).digest('hex').slice(0, 16);
  }

  async apply(slices: readonly Slice[], options: PreprocessApplyOptions): Promise<Slice[]> {
    return runSteps(this.steps, slices, options);
  }

  prepare(slices: readonly Slice[]): Promise<Slice[]> {
    return runSteps(this.steps.slice(0, this.prefixLength), slices, { train: false });
  }

  augment(slices: readonly Slice[], rng: Rng, perSlice = false): Promise<Slice[]> {
    return runSteps(this.steps.slice(this.prefixLength), slices, { train: true, rng, perSlice });
  }

  finish(slices: readonly Slice[]): Promise<Slice[]> {
    return runSteps(this.steps.slice(this.prefixLength), slices, { train: false });
  }

  /**
   * A patient's label maps (one per slice) through the geometric steps of `stage`, with the parameters the
   * slices got: `augment` must be given an Rng in the state the slices' `augment` got (the loader derives both
   * from the same seed). Intensity steps leave maps alone; `fill` is where a warp uncovers nothing.
   */
  masks(masks: readonly Slice[], stage: 'prepare' | 'augment' | 'finish', options: { rng?: Rng; perSlice?: boolean; fill: number }): Slice[] {
    const steps = stage === 'prepare' ? this.steps.slice(0, this.prefixLength) : this.steps.slice(this.prefixLength);
    return moveMasks(steps, masks, { train: stage === 'augment', rng: options.rng, perSlice: options.perSlice, fill: options.fill });
  }
}

/** Validates every step (errors name `preprocess[i]` and the field) and builds the pipeline. */
export function buildPreprocess(config: readonly TransformConfig[]): Preprocess {
  const list = parseOrThrow(preprocessConfigSchema, config, 'preprocess config');
  const steps = list.map(({ name, ...options }, index) => {
    const where = `preprocess[${index}]`;
    if (!transforms.has(name)) {
      throw new Error(`${where}: unknown transform '${name}'; registered: ${transforms.names().join(', ')}`);
    }
    const resolved = transforms.resolve(name, options, where);
    return { config: { name, ...resolved }, transform: transforms.get(name).create(resolved, {}) };
  });
  return new Preprocess(steps);
}

/** The steps that run, and each slice's parameters per step: drawn up front, in slice order then step order. */
function plan(steps: readonly Step[], count: number, options: PreprocessApplyOptions): { active: readonly Step[]; params: unknown[][] } {
  const active = options.train ? steps : steps.filter((step) => !step.transform.random);
  const needsRng = active.some((step) => step.transform.random);
  if (needsRng && !options.rng) throw new Error('preprocess: training with random steps needs an rng');
  const draw = () => active.map((step) => (step.transform.random ? step.transform.sample(options.rng!) : undefined));
  // Drawn before any work, so results never depend on timing.
  const patientParams = needsRng && !options.perSlice ? draw() : undefined;
  const params = Array.from({ length: count }, () => patientParams ?? (needsRng ? draw() : active.map(() => undefined)));
  return { active, params };
}

async function runSteps(steps: readonly Step[], slices: readonly Slice[], options: PreprocessApplyOptions): Promise<Slice[]> {
  const { active, params } = plan(steps, slices.length, options);
  if (active.length === 0) return [...slices];
  return Promise.all(
    slices.map(async (slice, index) => {
      let current = slice;
      for (let s = 0; s < active.length; s++) {
        try {
          current = await active[s].transform.apply(current, params[index][s]);
        } catch (error) {
          if (error instanceof DataFileError) throw error;
          throw new DataFileError(slice.meta.source, `${active[s].transform.name} failed (${describeThrown(error)})`, { cause: error });
        }
      }
      return current;
    }),
  );
}

/** Label maps through the same steps: the same parameter draw as `runSteps` from an Rng in the same state. */
function moveMasks(steps: readonly Step[], masks: readonly Slice[], options: PreprocessApplyOptions & { fill: number }): Slice[] {
  const { active, params } = plan(steps, masks.length, options);
  return masks.map((mask, index) => active.reduce((current, step, s) => step.transform.moveMask?.(current, params[index][s], options.fill) ?? current, mask));
}

/** JSON with object keys sorted, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
