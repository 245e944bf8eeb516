import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from '../data/loader.ts';
import { InterruptedError, yieldToSignals } from '../core/interrupt.ts';
import { log } from '../core/log.ts';
import { Progress } from '../core/progress.ts';
import type { LabelSchema } from '../labels/schema.ts';
import type { CriterionFn } from '../losses/criterion.ts';
import type { ZeroDivision } from '../metrics/policy.ts';
import { Checkpoints, type TrainingState } from './checkpoint.ts';
import { monitoredValue, predict, scorePredictions, type Monitor, type ScoreBlock } from './evaluate.ts';
import type { TrainingOptimizer } from './optimizers.ts';
import { restoreRngStates, rngStates } from './rng-state.ts';
import type { Schedule } from './schedules.ts';
import { trainStep } from './step.ts';

export interface FitSettings {
  epochs: number;
  level: 'patient' | 'slice';
  monitor: Monitor;
  gradientClip?: number;
  earlyStopping?: number;
  zeroDivision: ZeroDivision;
}

/** A split's validation numbers: the score block (monitored values included) and the mean loss. */
export interface Validation {
  block: ScoreBlock;
  loss?: number;
}

export interface FitParts {
  model: tf.LayersModel;
  /** The label schema (image-level labels); left out when `validate` and `targetsOf` say how to score (dense maps). */
  schema?: LabelSchema;
  criterion: CriterionFn;
  /** A batch's training targets; by default `targets` (patient level) or `sliceTargets` (slice level). */
  targetsOf?: (batch: Batch<tf.Tensor>) => tf.Tensor | undefined;
  /** Validates the model after each epoch; by default predict + scorePredictions over `valLoader` with the schema. */
  validate?: (model: tf.LayersModel) => Promise<Validation>;
  optimizer: TrainingOptimizer;
  schedule: Schedule;
  trainLoader: BatchSource;
  valLoader: BatchSource;
  checkpoints: Checkpoints;
  /** Called once the last checkpoint (if any) is restored, before the first step. */
  onStart?: (state: TrainingState) => void;
  /** Called after every optimizer step with its loss and learning rate (the run's steps.jsonl and TensorBoard). */
  onStep?: (point: { step: number; epoch: number; loss: number; learningRate: number }) => void;
  /** Called after every epoch with the full state (the runner writes history.jsonl from it). */
  onEpoch?: (state: TrainingState) => void;
  /** Set by Ctrl-C (core/interrupt.ts): `requested` finishes the current step, saves a checkpoint and stops; `urgent` also cuts validation short. */
  interrupt?: { readonly requested: boolean; readonly urgent: boolean };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** Validation of image-level labels: predictions over the validation loader, scored with the label schema. */
function defaultValidation(parts: FitParts, settings: FitSettings): (model: tf.LayersModel) => Promise<Validation> {
  const { schema, criterion, valLoader } = parts;
  if (!schema) throw new Error('fit: without a label schema, FitParts needs its own validate');
  return async (model) => {
    const predictions = await predict(model, valLoader, schema, { level: settings.level, criterion, stop: () => parts.interrupt?.urgent ?? false });
    return { block: scorePredictions(schema, predictions, { zeroDivision: settings.zeroDivision }), loss: predictions.loss };
  };
}

function freshState(model: tf.LayersModel): TrainingState {
  return { epoch: 0, step: 0, batchInEpoch: 0, history: [], monitorHistory: [], best: null, epochsWithoutImprovement: 0, rng: rngStates(model) };
}

/**
 * The training loop, top to bottom: for each epoch set the learning rate, take one optimizer step per batch,
 * validate, record, checkpoint (the last and the best), and stop early when the monitored metric stalls.
 * Resumes from the last checkpoint when one exists.
 */
export async function fit(parts: FitParts, settings: FitSettings): Promise<TrainingState> {
  const { model, criterion, optimizer, schedule, trainLoader, checkpoints } = parts;
  let state = (await checkpoints.restore(model, optimizer.optimizer)) ?? freshState(model);
  restoreRngStates(model, state.rng);
  if (state.epoch > 0 || state.batchInEpoch > 0) log.info(`resuming at epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1} (step ${state.step})`);
  parts.onStart?.(state);

  while (state.epoch < settings.epochs && !state.stopped) {
    const epoch = state.epoch;
    const learningRate = schedule({ epoch, epochs: settings.epochs, baseLearningRate: optimizer.baseLearningRate, history: state.monitorHistory });
    optimizer.setLearningRate(learningRate);

    // 1. One pass over the training patients (order and augmentation fixed by seed and epoch).
    const progress = new Progress({ label: `epoch ${epoch + 1}/${settings.epochs}`, total: trainLoader.batchesPerEpoch(), unit: 'batch' });
    // A resumed epoch goes on from the loss its interrupted part summed.
    let lossSum = state.epochLoss?.sum ?? 0;
    let batches = state.epochLoss?.batches ?? 0;
    let batchIndex = 0;
    // Time: the epoch's wall clock, and how much of the training pass went to waiting for the loader's next batch.
    const epochStart = performance.now();
    let waitMs = 0;
    let slices = 0;
    let waitFrom = epochStart;
    for await (const batch of trainLoader.epoch(epoch)) {
      waitMs += performance.now() - waitFrom;
      if (batchIndex === 0) log.debug(`epoch ${epoch + 1}: first training batch ready`); // bench/scale.ts times up to here
      try {
        if (batchIndex++ < state.batchInEpoch) continue; // already trained before the interruption
        const targets = parts.targetsOf ? parts.targetsOf(batch) : settings.level === 'slice' ? batch.sliceTargets : batch.targets;
        if (!targets) throw new Error(`training batch ${batch.index} of epoch ${epoch + 1} has no ${settings.level} targets`);
        const result = trainStep(model, criterion, optimizer, { images: batch.images, mask: batch.mask, targets }, { gradientClip: settings.gradientClip, learningRate });
        if (!result.finite) {
          state.stopped = `non-finite loss or gradient at epoch ${epoch + 1}, batch ${batch.index + 1} (patients ${batch.patientIds.join(', ')}); weights kept from the last good checkpoint`;
          log.error(state.stopped);
          break;
        }
        state.step += 1;
        state.batchInEpoch += 1;
        parts.onStep?.({ step: state.step, epoch: epoch + 1, loss: result.loss, learningRate });
        lossSum += result.loss;
        batches += 1;
        slices += batch.sliceCounts.reduce((a, b) => a + b, 0);
        progress.tick(1, `loss ${result.loss.toFixed(4)}`);
      } finally {
        batch.dispose();
      }
      // A prefetched batch resolves without a macrotask turn: give a pending Ctrl-C its turn after every batch.
      await yieldToSignals();
      if (parts.interrupt?.requested) break;
      waitFrom = performance.now();
    }
    const trainSeconds = (performance.now() - epochStart) / 1000;
    progress.finish();
    if (state.stopped) break;
    const saveInterrupted = async () => {
      state.rng = rngStates(model);
      state.epochLoss = { sum: lossSum, batches };
      await checkpoints.save(model, optimizer.optimizer, state, false);
      log.info(`interrupted: checkpoint saved at epoch ${epoch + 1}, batch ${state.batchInEpoch}; continue with --resume`);
      return { ...state, stopped: 'interrupted' };
    };
    if (parts.interrupt?.requested) return saveInterrupted();

    // 2. Validate on the held-out fold (a second Ctrl-C cuts it short: the training pass is saved, the epoch validates on resume).
    let validation: Validation;
    try {
      validation = await (parts.validate ?? defaultValidation(parts, settings))(model);
    } catch (error) {
      if (error instanceof InterruptedError) return saveInterrupted();
      throw error;
    }
    const { block: val, loss: valLoss } = validation;
    const value = monitoredValue(val, settings.monitor, epoch + 1);

    // 3. Record, checkpoint, early stopping.
    const timing = {
      epoch_seconds: round((performance.now() - epochStart) / 1000, 3),
      train_seconds: round(trainSeconds, 3),
      train_slices_per_second: trainSeconds > 0 ? round(slices / trainSeconds, 2) : null,
      // The fraction of the training pass spent waiting for data (0: the loader always had the next batch ready).
      data_wait_fraction: trainSeconds > 0 ? round(waitMs / 1000 / trainSeconds, 4) : null,
    };
    const improved = state.best === null || value > state.best.value;
    state = {
      ...state,
      epoch: epoch + 1,
      batchInEpoch: 0,
      epochLoss: undefined,
      // `tensors` lets anyone check that nothing leaks: it must stay flat from epoch to epoch.
      history: [...state.history, { epoch: epoch + 1, step: state.step, learning_rate: learningRate, train_loss: batches ? lossSum / batches : null, val, ...timing, tensors: tf.memory().numTensors }],
      monitorHistory: [...state.monitorHistory, value],
      best: improved ? { epoch: epoch + 1, value } : state.best,
      epochsWithoutImprovement: improved ? 0 : state.epochsWithoutImprovement + 1,
      rng: rngStates(model),
    };
    if (settings.earlyStopping && state.epochsWithoutImprovement >= settings.earlyStopping) {
      state.stopped = `early stopping: no improvement of ${settings.monitor} for ${settings.earlyStopping} epochs`;
    }
    await checkpoints.save(model, optimizer.optimizer, state, improved);
    parts.onEpoch?.(state);
    log.info(
      `epoch ${epoch + 1}: train loss ${(batches ? lossSum / batches : NaN).toFixed(4)}, val loss ${(valLoss ?? NaN).toFixed(4)}, ` +
        `val ${settings.monitor} ${Number.isFinite(value) ? Math.abs(value).toFixed(4) : 'n/a'}${improved ? ' (best)' : ''}; ` +
        `${timing.epoch_seconds.toFixed(1)} s, ${timing.train_slices_per_second ?? 'n/a'} training slices/s, ` +
        `waiting for data ${timing.data_wait_fraction === null ? 'n/a' : `${(100 * timing.data_wait_fraction).toFixed(1)}%`}`,
    );
    if (state.stopped) log.info(state.stopped);
  }
  return state;
}
