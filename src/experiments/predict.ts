import * as tf from '@tensorflow/tfjs';
import { Progress } from '../core/progress.ts';
import type { Dataset } from '../data/datasets/types.ts';
import { PatientLoader, type Batch, type BatchSource } from '../data/loader.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { decodedColumns } from '../labels/decode.ts';
import { schemaDifference, type LabelSchema } from '../labels/schema.ts';
import type { ThresholdSet } from '../metrics/thresholds.ts';
import { modelMetadata, type ModelMetadata } from '../models/build.ts';
import { predict } from '../train/evaluate.ts';
import { PredictionTable } from '../metrics/prediction-table.ts';
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
  /** Decode/preprocess worker threads (default: each member's data.workers, else the loader's). */
  workers?: number;
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
/**
 * The ensemble's predictions of `dataset`, one row per patient (patient level) or per slice (slice level): the
 * decoded columns' weighted mean over members (and views), the targets where the dataset has labels at this
 * level, and the members' label schema.
 */
export async function predictEnsemble(members: readonly EnsembleMember[], dataset: Dataset, options: PredictOptions = {}): Promise<PredictionTable> {
  if (members.length === 0) throw new Error('predict: no models to predict with');
  if (dataset.patients.length === 0) throw new Error(`predict: ${dataset.source} has no patients`);
  const tta = options.tta ?? 'none';
  const views = tta === 'flip' ? 2 : 1;
  const progress =
    options.progress === false
      ? undefined
      : new Progress({ label: 'predict', total: members.reduce((sum, m) => sum + Math.ceil(dataset.patients.length / (options.batchSize ?? m.experiment.train.batchSize)) * views, 0), unit: 'batch' });

  let first: LabelModelMetadata | undefined;
  const tables: PredictionTable[] = [];
  const weights: number[] = [];
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
        const difference = schemaDifference(first.labelSchema, meta.labelSchema);
        if (difference || first.level !== meta.level) {
          throw new Error(`${member.name}: cannot join the ensemble of ${members[0].name}: ${difference ?? `it predicts per ${meta.level}, the other per ${first.level}`}`);
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
          ...((options.workers ?? member.experiment.data.workers) !== undefined ? { workers: options.workers ?? member.experiment.data.workers } : {}),
          sliceTargets,
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        },
        { pipeline: buildPreprocess(member.experiment.data.preprocess) },
      );
      const source = counted(checkInputs(member, meta, tta === 'flip' ? withFlips(loader) : loader), () => progress?.tick());
      const predictions = await predict(model, source, meta.labelSchema, { level: meta.level });
      // Each row appears once per view: the member's value is the mean over its views.
      tables.push(predictions.with({ source: member.name }).meanOfRepeats(views));
      weights.push(weight);
      first ??= meta;
    } finally {
      model.dispose();
    }
  }
  progress?.finish();
  return PredictionTable.mean(tables, weights, tables.length > 1 ? `mean of ${tables.length} models` : tables[0].source);
}

/** The decoded columns that are probabilities (binary, categorical, no-finding): what long and wide submissions hold. */
export function probabilityColumns(schema: LabelSchema): string[] {
  const ordinal = new Set(schema.groups.filter((g) => g.kind === 'ordinal').flatMap((g) => g.classes.flatMap((name) => [name, `${name}_grade`])));
  return decodedColumns(schema).filter((name) => !ordinal.has(name));
}

/** Where the binary classes turn into labels: one threshold per class, in the set's class order. */
export type Decisions = Pick<ThresholdSet, 'classes' | 'thresholds'>;
