import * as tf from '@tensorflow/tfjs';
import { Progress } from '../core/progress.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { PatientLoader, type Batch, type BatchSource } from '../data/loader.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { decodeLogits, decodedColumns } from '../labels/decode.ts';
import { binaryClassNames, schemaDifference, targetColumns, type LabelSchema } from '../labels/schema.ts';
import type { ThresholdSet } from '../metrics/thresholds.ts';
import { binarize, matrix } from '../metrics/matrix.ts';
import { modelMetadata, type ModelMetadata } from '../models/build.ts';
import { predict } from '../train/evaluate.ts';
import { selectScores, type PredictionTable } from '../runs/predictions.ts';
import type { Experiment } from './config.ts';

/**
 * Prediction with trained models on any dataset: every slice of every patient, the training run's preprocessing
 * without augmentation, optional horizontal-flip test-time augmentation, and an ensemble of several models
 * (weighted mean of probabilities). Each model runs over the whole series of a patient in one pass, whatever
 * `maxSlices` it was trained with (docs/leaderboard.md says why); memory is bounded by
 * one batch of patients, and only the probability rows are kept.
 */
export type TestTimeAugmentation = 'none' | 'flip';

/** One trained model of an ensemble. */
/** The metadata of a model with image-level labels (dense-ordinal models have none to predict). */
type LabelModelMetadata = ModelMetadata & { labelSchema: LabelSchema };

export interface EnsembleMember {
  /** How messages name it (its run directory). */
  name: string;
  /** The experiment it was trained with (its preprocessing and batch size are used). */
  experiment: Experiment;
  /** Loads the model with the chosen weights; the caller of `predictEnsemble` never holds it. */
  load(): Promise<tf.LayersModel>;
  /** Its share of the mean (1 by default). */
  weight?: number;
}

export interface PredictOptions {
  tta?: TestTimeAugmentation;
  /** Patients per batch (default: each member's training batch size). */
  batchSize?: number;
  /** Folder for decoded slices, as in training (data.cacheDir). */
  cacheDir?: string;
  /** Show a progress line on stderr (default true). */
  progress?: boolean;
}

/** Decoded predictions of a whole dataset: one row per patient (patient level) or per slice (slice level). */
export interface EnsemblePredictions {
  schema: LabelSchema;
  level: 'patient' | 'slice';
  ids: string[];
  /** Slice level: each row's patient. */
  patients?: string[];
  /** Decoded columns (labels/decode.ts `decodedColumns`). */
  columns: string[];
  /** Row-major [ids.length, columns.length]: mean probabilities (and mean ordinal scores). */
  values: Float64Array;
  /** Target layout [ids.length, targetColumns(schema).length], where the dataset has labels at this level. */
  targets?: Float32Array;
  /** Members and views averaged. */
  members: string[];
  tta: TestTimeAugmentation;
}

/** A batch source that also yields each batch flipped left-right (width axis), so each row is predicted twice. */
function withFlips(source: BatchSource): BatchSource {
  return {
    batchesPerEpoch: () => source.batchesPerEpoch() * 2,
    async *epoch(epoch: number): AsyncGenerator<Batch<tf.Tensor>> {
      for await (const batch of source.epoch(epoch)) {
        if (batch.images.rank !== 5) {
          batch.dispose();
          throw new Error('--tta flip needs image inputs; this model reads cached slice embeddings');
        }
        const copies = {
          images: tf.reverse(batch.images, 3),
          mask: tf.clone(batch.mask),
          ...(batch.targets ? { targets: tf.clone(batch.targets) } : {}),
          ...(batch.sliceTargets ? { sliceTargets: tf.clone(batch.sliceTargets) } : {}),
        };
        yield batch;
        yield { ...batch, ...copies, dispose: () => tf.dispose(Object.values(copies)) };
      }
    },
  };
}

/** Counts batches for the progress line. */
function counted(source: BatchSource, tick: () => void): BatchSource {
  return {
    batchesPerEpoch: () => source.batchesPerEpoch(),
    async *epoch(epoch: number) {
      for await (const batch of source.epoch(epoch)) {
        yield batch;
        tick();
      }
    },
  };
}

/** The shape check the loader cannot do: what the member's preprocessing makes of this dataset must fit its model. */
function checkInputs(member: EnsembleMember, meta: ModelMetadata, source: BatchSource): BatchSource {
  const expected = meta.inputShape;
  return {
    batchesPerEpoch: () => source.batchesPerEpoch(),
    async *epoch(epoch: number) {
      let checked = false;
      for await (const batch of source.epoch(epoch)) {
        if (!checked) {
          const [, , ...shape] = batch.images.shape;
          const wanted = 'features' in expected ? [expected.features] : [expected.height, expected.width, expected.channels];
          if (shape.join('×') !== wanted.join('×')) {
            batch.dispose();
            throw new Error(
              `${member.name}: its preprocessing turns this dataset's slices into ${shape.join('×')}, but the model takes ${wanted.join('×')}; ` +
                'predict on data of the kind it was trained on, or retrain with a resize step',
            );
          }
          checked = true;
        }
        yield batch;
      }
    },
  };
}

/** Runs every member over `dataset` and averages their probabilities (each member's views first, then members by weight). */
export async function predictEnsemble(members: readonly EnsembleMember[], dataset: Dataset, options: PredictOptions = {}): Promise<EnsemblePredictions> {
  if (members.length === 0) throw new Error('predict: no models to predict with');
  if (dataset.patients.length === 0) throw new Error(`predict: ${dataset.source} has no patients`);
  const tta = options.tta ?? 'none';
  const views = tta === 'flip' ? 2 : 1;
  const progress =
    options.progress === false
      ? undefined
      : new Progress({ label: 'predict', total: members.reduce((sum, m) => sum + Math.ceil(dataset.patients.length / (options.batchSize ?? m.experiment.train.batchSize)) * views, 0), unit: 'batch' });

  let first: { meta: LabelModelMetadata; ids: string[]; patients?: string[]; targets?: Float32Array; columns: string[] } | undefined;
  let sums: Float64Array | undefined;
  let totalWeight = 0;
  for (const member of members) {
    const weight = member.weight ?? 1;
    if (!(weight > 0)) throw new Error(`${member.name}: ensemble weight must be positive, got ${weight}`);
    if (member.experiment.data.embeddings) {
      throw new Error(`${member.name}: a two-stage run reads cached embeddings; predict needs a model that reads images`);
    }
    const model = await member.load();
    try {
      const stored = modelMetadata(model);
      if (!stored) throw new Error(`${member.name}: the model carries no sliceseq metadata (label schema, level, input shape)`);
      if (!stored.labelSchema) throw new Error(`${member.name}: a dense-ordinal model emits grade maps; predict writes image-level predictions only`);
      const meta: LabelModelMetadata = { ...stored, labelSchema: stored.labelSchema };
      if (first) {
        const difference = schemaDifference(first.meta.labelSchema, meta.labelSchema);
        if (difference || first.meta.level !== meta.level) {
          throw new Error(`${member.name}: cannot join the ensemble of ${members[0].name}: ${difference ?? `it predicts per ${meta.level}, the other per ${first.meta.level}`}`);
        }
      }
      if (dataset.labelSchema && dataset.labelled) {
        const difference = schemaDifference(meta.labelSchema, dataset.labelSchema);
        if (difference) throw new Error(`${dataset.source}: does not fit ${member.name}: ${difference}`);
      }
      const sliceTargets = meta.level === 'slice' && dataset.sliceLabelled;
      const loader = new PatientLoader(
        { patients: dataset.patients, labelSchema: meta.labelSchema },
        {
          batchSize: options.batchSize ?? member.experiment.train.batchSize,
          seed: member.experiment.seed,
          shuffle: false,
          augment: false,
          prefetch: member.experiment.data.prefetch,
          sliceTargets,
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        },
        { pipeline: buildPreprocess(member.experiment.data.preprocess) },
      );
      const source = counted(checkInputs(member, meta, tta === 'flip' ? withFlips(loader) : loader), () => progress?.tick());
      const predictions = await predict(model, source, meta.labelSchema, { level: meta.level });
      const decoded = decodeLogits(meta.labelSchema, predictions.logits);
      const width = decoded.columns.length;
      if (!first) {
        const seen = new Set<string>();
        const ids: string[] = [];
        const patients: string[] = [];
        predictions.ids.forEach((id, r) => {
          if (seen.has(id)) return;
          seen.add(id);
          ids.push(id);
          if (predictions.patients) patients.push(predictions.patients[r]);
        });
        let targets: Float32Array | undefined;
        if (predictions.targets) {
          const targetWidth = targetColumns(meta.labelSchema).length;
          const rowOf = new Map(predictions.ids.map((id, r) => [id, r]));
          targets = new Float32Array(ids.length * targetWidth);
          ids.forEach((id, r) => targets!.set(predictions.targets!.subarray(rowOf.get(id)! * targetWidth, (rowOf.get(id)! + 1) * targetWidth), r * targetWidth));
        }
        first = { meta, ids, ...(predictions.patients ? { patients } : {}), ...(targets ? { targets } : {}), columns: decoded.columns };
        sums = new Float64Array(ids.length * width);
      }
      // Each row appears once per view: the member's value is the mean over its views.
      const rowOf = new Map(first.ids.map((id, r) => [id, r]));
      const memberSums = new Float64Array(first.ids.length * width);
      const counts = new Uint8Array(first.ids.length);
      predictions.ids.forEach((id, r) => {
        const row = rowOf.get(id);
        if (row === undefined) throw new Error(`${member.name}: predicted a row '${id}' that ${members[0].name} did not`);
        counts[row]++;
        for (let c = 0; c < width; c++) memberSums[row * width + c] += decoded.values[r * width + c];
      });
      counts.forEach((count, row) => {
        if (count !== views) throw new Error(`${member.name}: row '${first!.ids[row]}' was predicted ${count} times, expected ${views}`);
        for (let c = 0; c < width; c++) sums![row * width + c] += (weight * memberSums[row * width + c]) / count;
      });
      totalWeight += weight;
    } finally {
      model.dispose();
    }
  }
  progress?.finish();
  const values = sums!.map((sum) => sum / totalWeight);
  return {
    schema: first!.meta.labelSchema,
    level: first!.meta.level,
    ids: first!.ids,
    ...(first!.patients ? { patients: first!.patients } : {}),
    columns: first!.columns,
    values,
    ...(first!.targets ? { targets: first!.targets } : {}),
    members: members.map((m) => m.name),
    tta,
  };
}

/** The binary classes' probabilities, [rows, binaryClassNames(schema).length]. */
export function binaryProbabilities(predictions: EnsemblePredictions): { classes: string[]; values: Float64Array } {
  const classes = binaryClassNames(predictions.schema);
  return { classes, values: selectScores({ ids: predictions.ids, columns: predictions.columns, scores: predictions.values }, classes) };
}

/** The decoded columns that are probabilities (binary, categorical, no-finding): what long and wide submissions hold. */
export function probabilityColumns(schema: LabelSchema): string[] {
  const ordinal = new Set(schema.groups.filter((g) => g.kind === 'ordinal').flatMap((g) => g.classes.flatMap((name) => [name, `${name}_grade`])));
  return decodedColumns(schema).filter((name) => !ordinal.has(name));
}

/** Where the binary classes turn into labels: one threshold per class, in the set's class order. */
export type Decisions = Pick<ThresholdSet, 'classes' | 'thresholds'>;

/** The 0/1 labels of the binary classes at `decisions` (whose classes must be the predictions' binary classes, in order). */
export function decideLabels(predictions: EnsemblePredictions, decisions: Decisions): { classes: string[]; data: Uint8Array } {
  const binary = binaryProbabilities(predictions);
  if (binary.classes.join('\u0000') !== decisions.classes.join('\u0000')) {
    throw new Error(`thresholds were fitted for classes [${decisions.classes.join(', ')}] but the predictions have [${binary.classes.join(', ')}]`);
  }
  return { classes: binary.classes, data: binarize(matrix(binary.values, predictions.ids.length, binary.classes.length), decisions.thresholds).data };
}

/**
 * The predictions as a run's predictions files hold them (runs/predictions.ts): id, patient (slice level), the
 * decoded columns, `label_<class>` decisions at `decisions` when given, and the targets when the dataset has them.
 */
export function ensembleTable(predictions: EnsemblePredictions, decisions?: Decisions): PredictionTable {
  const { ids, patients, columns, values, targets, schema } = predictions;
  return {
    ids,
    ...(patients ? { patients } : {}),
    columns,
    scores: values,
    ...(decisions ? { labels: decideLabels(predictions, decisions) } : {}),
    ...(targets ? { truthColumns: targetColumns(schema), truth: targets } : {}),
  };
}
