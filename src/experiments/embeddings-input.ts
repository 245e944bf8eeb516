import { EmbeddingCache, type FingerprintParts } from '../data/embedding-loader.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import type { Patient } from '../data/patients.ts';
import type { Experiment } from './config.ts';
import { describeParts, extractionPlan } from './extract.ts';
import { loadExperimentFile } from './load.ts';
import { resolveExperiment } from './resolve.ts';

/**
 * `data.embeddings` of an experiment: train on slice embeddings cached by `sliceseq extract` (two-stage mode)
 * instead of images. The runner refuses a cache made by another model, preprocessing or data: it re-derives the
 * fingerprint from the first-stage experiment named in `extract` (or compares the pinned `fingerprint`), and
 * always re-checks the data part against the files the experiment's dataset lists now.
 */
export type EmbeddingsInput = NonNullable<Experiment['data']['embeddings']>;

export interface EmbeddingsCheckContext {
  /** The experiment's patients (its dataset as loaded now). */
  patients: readonly Patient[];
  /** Patients the run validates and tests on: a trained backbone must never have seen their labels. */
  heldOut: readonly Patient[];
}

/** What a run records about the embeddings it trained on (environment.json). */
export interface EmbeddingsProvenance {
  cache: string;
  fingerprint: string;
  parts: FingerprintParts;
  source: EmbeddingCache['index']['source'];
}

function extractCommand(input: EmbeddingsInput): string {
  const spec = input.extract;
  if (!spec) return `sliceseq extract <experiment> --cache ${input.cache} --force`;
  const flags = [spec.fromRun ? `--from-run ${spec.fromRun}` : '', spec.tta ? '--tta' : '', spec.quick ? '--quick' : '', ...spec.sets.map((s) => `--set ${s}`)];
  return ['sliceseq extract', spec.experiment, ...flags.filter(Boolean), `--cache ${input.cache} --force`].join(' ');
}

/** The fingerprint the experiment expects, from the first-stage experiment (which re-derives every part). */
async function expectedFromExtract(input: EmbeddingsInput, context: EmbeddingsCheckContext): Promise<{ fingerprint: string; parts: FingerprintParts }> {
  const spec = input.extract!;
  const stageOne = resolveExperiment(await loadExperimentFile(spec.experiment), { quick: spec.quick, sets: spec.sets });
  const plan = await extractionPlan(stageOne, context.patients, { fromRun: spec.fromRun, tta: spec.tta });
  plan.dispose();
  return { fingerprint: plan.fingerprint, parts: plan.parts };
}

const partNames: Record<keyof FingerprintParts, string> = { model: 'the model (backbone weights, config or TTA)', preprocess: 'the preprocessing', data: 'the data (patients or slice files)' };

/** Opens the cache named by `data.embeddings` and checks it is the extraction the experiment expects. */
export async function openEmbeddingsInput(input: EmbeddingsInput, context: EmbeddingsCheckContext): Promise<{ cache: EmbeddingCache; provenance: EmbeddingsProvenance }> {
  const cache = EmbeddingCache.open(input.cache);
  const held = cache.index;
  const refuse = (reason: string) => {
    throw new Error(`data.embeddings: the cache ${input.cache} does not fit this experiment: ${reason}. Re-extract: ${extractCommand(input)}`);
  };
  if (input.fingerprint !== undefined && held.fingerprint !== input.fingerprint) {
    refuse(`it holds fingerprint ${held.fingerprint} (${describeParts(held.parts)}), data.embeddings.fingerprint pins ${input.fingerprint}`);
  }
  const expected = input.extract ? await expectedFromExtract(input, context) : { parts: { ...held.parts, data: await dataFingerprint([context.patients]) } };
  const differing = (Object.keys(partNames) as Array<keyof FingerprintParts>).filter((part) => held.parts[part] !== expected.parts[part]);
  if (differing.length > 0) {
    const wanted = 'fingerprint' in expected ? `${expected.fingerprint} (${describeParts(expected.parts)})` : `data ${expected.parts.data}`;
    refuse(`it holds fingerprint ${held.fingerprint} (${describeParts(held.parts)}), the experiment expects ${wanted}; ${differing.map((p) => partNames[p]).join(' and ')} differ`);
  }
  const trained = new Set(held.source.trainedOn ?? []);
  const leaked = context.heldOut.filter((p) => trained.has(p.id)).map((p) => p.id);
  if (leaked.length > 0) {
    throw new Error(
      `data.embeddings: the backbone of ${held.source.fromRun} trained on ${leaked.length} patient(s) this run validates or tests on ` +
        `(${leaked.slice(0, 5).join(', ')}${leaked.length > 5 ? ', …' : ''}): use that run's seed, split and fold so predictions stay out-of-fold`,
    );
  }
  return { cache, provenance: { cache: cache.dir, fingerprint: held.fingerprint, parts: held.parts, source: held.source } };
}
