import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { readJson } from '../core/json.ts';
import type { RngState } from '../core/rng.ts';

/**
 * Full checkpoints: model weights, optimizer state (moments and step count), where training stands (epoch, step,
 * history, best), RNG states, and the config they belong to. Each checkpoint is its own folder; `index.json`,
 * replaced atomically, names the last and the best one, so a run killed at any instant (kill -9 included)
 * resumes from a complete checkpoint and never from half of one.
 */
export interface TrainingState {
  /** The next epoch to run. */
  epoch: number;
  step: number;
  /** Batches of `epoch` already trained (non-zero only for a checkpoint saved by an interruption). */
  batchInEpoch: number;
  /** The training loss summed over those batches, so the resumed epoch's `train_loss` is the uninterrupted one. */
  epochLoss?: { sum: number; batches: number };
  /** One record per finished epoch (what history.jsonl holds). */
  history: Array<Record<string, unknown>>;
  /** Monitored validation value per finished epoch, oriented so that higher is better. */
  monitorHistory: number[];
  best: { epoch: number; value: number } | null;
  epochsWithoutImprovement: number;
  rng: Record<string, RngState>;
  stopped?: string;
}

export interface CheckpointIndex {
  last: string;
  best: string | null;
}

const INDEX = 'index.json';

/**
 * Running products that Adam-family optimizers keep outside `getWeights()` (β1ᵗ, β2ᵗ). `setWeights` recomputes
 * them with pow(), which rounds differently in float32 than the step-by-step product, so a resumed run would
 * drift by an ulp; saving them makes resume exact.
 */
const hiddenOptimizerScalars = ['accBeta1', 'accBeta2'] as const;

function hiddenScalars(optimizer: tf.Optimizer): Record<string, tf.Variable> {
  const fields = optimizer as unknown as Record<string, unknown>;
  return Object.fromEntries(hiddenOptimizerScalars.filter((name) => fields[name] instanceof tf.Variable).map((name) => [name, fields[name] as tf.Variable]));
}

/** Encodes tensors (in order) to a weights blob and its manifest. */
async function encodeTensors(tensors: readonly tf.Tensor[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const named = tensors.map((tensor, i) => ({ name: `t${i}`, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return { data: new Uint8Array(new tf.io.CompositeArrayBuffer(data).slice()), specs };
}

function decodeTensors(dir: string, stem: string): tf.Tensor[] {
  const specs = readJson(join(dir, `${stem}.json`)) as tf.io.WeightsManifestEntry[];
  const bytes = readFileSync(join(dir, `${stem}.bin`));
  const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), specs);
  return specs.map((spec) => decoded[spec.name]);
}

async function writeTensors(dir: string, stem: string, tensors: readonly tf.Tensor[]): Promise<void> {
  const { data, specs } = await encodeTensors(tensors);
  writeFileAtomic(join(dir, `${stem}.bin`), data);
  writeFileAtomic(join(dir, `${stem}.json`), JSON.stringify(specs));
}

export class Checkpoints {
  constructor(readonly dir: string) {}

  index(): CheckpointIndex | null {
    const path = join(this.dir, INDEX);
    return existsSync(path) ? (readJson(path) as CheckpointIndex) : null;
  }

  /**
   * Saves a checkpoint as the last one (and the best one when `isBest`), then drops checkpoints nothing names. A
   * checkpoint saved mid-epoch (an interruption) has a name of its own and is never the best: the best is always
   * the end of an epoch, whose validation scores chose it.
   */
  async save(model: tf.LayersModel, optimizer: tf.Optimizer, state: TrainingState, isBest: boolean): Promise<void> {
    const midEpoch = state.batchInEpoch > 0;
    if (midEpoch && isBest) throw new Error('internal: a mid-epoch checkpoint cannot be the best one');
    const name = `epoch-${String(state.epoch).padStart(4, '0')}${midEpoch ? `-batch-${String(state.batchInEpoch).padStart(6, '0')}` : ''}`;
    const folder = join(this.dir, name);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    await writeTensors(folder, 'weights', model.getWeights());
    const optimizerWeights = await optimizer.getWeights();
    await writeTensors(folder, 'optimizer', optimizerWeights.map((w) => w.tensor));
    // The first entry is the step count, a fresh scalar on every call; the rest are the optimizer's own variables.
    optimizerWeights[0]?.tensor.dispose();
    const hidden = Object.fromEntries(Object.entries(hiddenScalars(optimizer)).map(([name, variable]) => [name, variable.dataSync()[0]]));
    writeJsonAtomic(join(folder, 'optimizer-scalars.json'), hidden);
    writeJsonAtomic(join(folder, 'state.json'), state);
    const previous = this.index();
    const index: CheckpointIndex = { last: name, best: isBest ? name : (previous?.best ?? null) };
    writeJsonAtomic(join(this.dir, INDEX), index);
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith('epoch-') && entry !== index.last && entry !== index.best) rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
  }

  /** Restores weights, optimizer state and training state from the named (default: last) checkpoint. */
  async restore(model: tf.LayersModel, optimizer: tf.Optimizer, which: 'last' | 'best' = 'last'): Promise<TrainingState | null> {
    const index = this.index();
    const name = index?.[which];
    if (!name) return null;
    const folder = join(this.dir, name);
    const weights = decodeTensors(folder, 'weights');
    if (weights.length !== model.weights.length) {
      tf.dispose(weights);
      throw new Error(`${folder}: the checkpoint holds ${weights.length} weight tensors, the model has ${model.weights.length}; was the config changed?`);
    }
    model.setWeights(weights);
    tf.dispose(weights);
    const optimizerTensors = decodeTensors(folder, 'optimizer');
    if (optimizerTensors.length > 0) {
      await optimizer.setWeights(optimizerTensors.map((tensor, i) => ({ name: i === 0 ? 'iter' : `slot${i}`, tensor })));
    }
    tf.dispose(optimizerTensors);
    const saved = readJson(join(folder, 'optimizer-scalars.json')) as Record<string, number>;
    for (const [name, variable] of Object.entries(hiddenScalars(optimizer))) {
      if (saved[name] !== undefined) tf.tidy(() => variable.assign(tf.scalar(saved[name])));
    }
    return readJson(join(folder, 'state.json')) as TrainingState;
  }

  /** Loads only the weights of the best (or last) checkpoint into `model`. */
  loadWeights(model: tf.LayersModel, which: 'last' | 'best'): boolean {
    const name = this.index()?.[which];
    if (!name) return false;
    const weights = decodeTensors(join(this.dir, name), 'weights');
    model.setWeights(weights);
    tf.dispose(weights);
    return true;
  }
}
