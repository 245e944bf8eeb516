import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/loader.ts';
import { log } from '../core/log.ts';
import { Progress } from '../core/progress.ts';
import type { LabelSchema } from '../labels/schema.ts';
import type { Criterion } from '../losses/criterion.ts';
import type { ZeroDivision } from '../metrics/policy.ts';
import { Checkpoints, type TrainingState } from './checkpoint.ts';
import { monitoredValue, predict, scorePredictions, type Monitor } from './evaluate.ts';
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

export interface FitParts {
  model: tf.LayersModel;
  schema: LabelSchema;
  criterion: Criterion;
  optimizer: TrainingOptimizer;
  schedule: Schedule;
  trainLoader: BatchSource;
  valLoader: BatchSource;
  checkpoints: Checkpoints;
  /** Called once the last checkpoint (if any) is restored, before the first step. */
  onStart?: (state: TrainingState) => void;
  /** Called after every epoch with the full state (the runner writes history.jsonl from it). */
  onEpoch?: (state: TrainingState) => void;
  /** Set by Ctrl-C: finish the current step, save a checkpoint, stop. */
  shouldStop?: () => boolean;
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
  const { model, schema, criterion, optimizer, schedule, trainLoader, valLoader, checkpoints } = parts;
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
    for await (const batch of trainLoader.epoch(epoch)) {
      try {
        if (batchIndex++ < state.batchInEpoch) continue; // already trained before the interruption
        const targets = settings.level === 'slice' ? batch.sliceTargets : batch.targets;
        if (!targets) throw new Error(`training batch ${batch.index} of epoch ${epoch + 1} has no ${settings.level} targets`);
        const result = trainStep(model, criterion, optimizer, { images: batch.images, mask: batch.mask, targets }, { gradientClip: settings.gradientClip, learningRate });
        if (!result.finite) {
          state.stopped = `non-finite loss or gradient at epoch ${epoch + 1}, batch ${batch.index + 1} (patients ${batch.patientIds.join(', ')}); weights kept from the last good checkpoint`;
          log.error(state.stopped);
          break;
        }
        state.step += 1;
        state.batchInEpoch += 1;
        lossSum += result.loss;
        batches += 1;
        progress.tick(1, `loss ${result.loss.toFixed(4)}`);
      } finally {
        batch.dispose();
      }
      if (parts.shouldStop?.()) break;
    }
    progress.finish();
    if (state.stopped) break;
    if (parts.shouldStop?.()) {
      state.rng = rngStates(model);
      state.epochLoss = { sum: lossSum, batches };
      await checkpoints.save(model, optimizer.optimizer, state, false);
      log.info(`interrupted: checkpoint saved at epoch ${epoch + 1}, batch ${state.batchInEpoch}; continue with --resume`);
      return { ...state, stopped: 'interrupted' };
    }

    // 2. Validate on the held-out fold.
    const predictions = await predict(model, valLoader, schema, { level: settings.level, criterion });
    const val = scorePredictions(schema, predictions, { zeroDivision: settings.zeroDivision });
    const value = monitoredValue(val, settings.monitor, epoch + 1);

    // 3. Record, checkpoint, early stopping.
    const improved = state.best === null || value > state.best.value;
    state = {
      ...state,
      epoch: epoch + 1,
      batchInEpoch: 0,
      epochLoss: undefined,
      // `tensors` lets anyone check that nothing leaks: it must stay flat from epoch to epoch.
      history: [...state.history, { epoch: epoch + 1, step: state.step, learning_rate: learningRate, train_loss: batches ? lossSum / batches : null, val, tensors: tf.memory().numTensors }],
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
      `epoch ${epoch + 1}: train loss ${(batches ? lossSum / batches : NaN).toFixed(4)}, val loss ${(predictions.loss ?? NaN).toFixed(4)}, ` +
        `val ${settings.monitor} ${Number.isFinite(value) ? Math.abs(value).toFixed(4) : 'n/a'}${improved ? ' (best)' : ''}`,
    );
    if (state.stopped) log.info(state.stopped);
  }
  return state;
}
