import { join } from 'node:path';
import type { SummaryWriter } from '../backend/summary-writer.ts';
import { flattenJson } from '../core/json.ts';
import { runPath } from './layout.ts';
import { readStepsIfExists, StepLog, writeSteps } from './steps.ts';
import { EventFileWriter } from './tensorboard.ts';

/**
 * What a run records while it trains, beside history.jsonl: the bounded per-step file (steps.jsonl) and, unless
 * turned off, TensorBoard event files in two sub-runs whose curves overlay:
 *
 *   tensorboard/train/  step/loss, step/learning_rate (x: optimizer step); epoch/loss (mean training loss),
 *                       epoch/learning_rate, epoch/data_wait_fraction, epoch/slices_per_second, epoch/seconds
 *                       (x: epoch); head/<weight> histograms of the head's weights (x: epoch; a weight whose
 *                       values are all equal is left out)
 *   tensorboard/val/    epoch/loss and epoch/<metric> for every number of the epoch's validation block
 *                       (epoch/f2/samples, epoch/auc/macro, epoch/auc/perClass/<class>, …; x: epoch)
 *
 * The training loop calls `start`, `step` and `epoch`, and `close` when it stops; everything is written to disk at
 * each epoch's end and at `close` (a Ctrl-C checkpoint), so the files cover what the last checkpoint covers.
 */
export interface TrainingLogOptions {
  /** Write TensorBoard event files (the experiment's `report.tensorboard`, on by default). */
  tensorboard: boolean;
  /** TensorFlow's own writer for a log folder when the native backend runs (backend/summary-writer.ts); else the JavaScript one. */
  nativeWriter?: (logdir: string) => SummaryWriter | undefined;
}

export interface StepPoint {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
}

/** Named weight values, e.g. the head's kernels, for the epoch's histograms. */
export type WeightValues = ReadonlyArray<{ name: string; values: ArrayLike<number> }>;

/** history.jsonl field → tag of the training sub-run. */
const trainEpochTags: ReadonlyArray<[field: string, tag: string]> = [
  ['train_loss', 'epoch/loss'],
  ['learning_rate', 'epoch/learning_rate'],
  ['data_wait_fraction', 'epoch/data_wait_fraction'],
  ['train_slices_per_second', 'epoch/slices_per_second'],
  ['epoch_seconds', 'epoch/seconds'],
];

function allEqual(values: ArrayLike<number>): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

export class TrainingLog {
  private steps = new StepLog();
  private writers?: { train: SummaryWriter; val: SummaryWriter };
  private started = false;

  constructor(
    private readonly runDir: string,
    private readonly options: TrainingLogOptions,
  ) {}

  /** Opens the files as of `steps` steps already taken (0 for a new run; a resume keeps what its checkpoint covers). */
  start(steps: number): void {
    this.steps = StepLog.resume(readStepsIfExists(this.runDir) ?? [], steps);
    this.started = true;
    if (!this.options.tensorboard) return;
    const open = (split: 'train' | 'val') => {
      const logdir = join(runPath(this.runDir, 'tensorboard'), split);
      // A resumed run tells TensorBoard to drop what earlier files hold from this step on (the interrupted epoch's
      // steps), first thing in its new file: so it writes with the JavaScript writer, whose file can start with that.
      if (steps > 0) {
        const writer = new EventFileWriter(logdir);
        writer.sessionStart(steps + 1);
        return writer;
      }
      return this.options.nativeWriter?.(logdir) ?? new EventFileWriter(logdir);
    };
    this.writers = { train: open('train'), val: open('val') };
  }

  step(point: StepPoint): void {
    this.steps.add({ step: point.step, epoch: point.epoch, loss: point.loss, learning_rate: point.learningRate });
    this.writers?.train.scalar('step/loss', point.loss, point.step);
    this.writers?.train.scalar('step/learning_rate', point.learningRate, point.step);
  }

  /** After an epoch's history record is final: per-epoch scalars and the head's weight histograms, then everything to disk. */
  epoch(record: Readonly<Record<string, unknown>>, weights: WeightValues = []): void {
    writeSteps(this.runDir, this.steps.records());
    if (!this.writers) return;
    const { train, val } = this.writers;
    const epoch = record.epoch as number;
    for (const [field, tag] of trainEpochTags) {
      const value = record[field];
      if (typeof value === 'number' && Number.isFinite(value)) train.scalar(tag, value, epoch);
    }
    for (const { name, values } of weights) {
      // A weight whose values are all equal (a bias no gradient has reached) has no histogram: tfjs-node's writer
      // cannot bucket it, and both writers write the same tags.
      if (allEqual(values)) continue;
      train.histogram(`head/${name}`, values, epoch);
    }
    for (const [path, value] of Object.entries(flattenJson(record.val ?? {}))) {
      if (typeof value === 'number' && Number.isFinite(value)) val.scalar(`epoch/${path.replaceAll('.', '/')}`, value, epoch);
    }
    train.flush();
    val.flush();
  }

  /** At the end of training, interrupted or not: what the last epoch left unwritten (an interrupted epoch's steps). */
  close(): void {
    if (!this.started) return; // training never began: the files on disk stay as they were
    writeSteps(this.runDir, this.steps.records());
    this.writers?.train.close();
    this.writers?.val.close();
    this.writers = undefined;
    this.started = false;
  }
}
