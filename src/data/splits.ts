import { Rng } from '../core/rng.ts';
import { compareNames, groupBy, type Patient } from './patients.ts';

/** What a split needs of a patient: its id, its target row (any value > 0 counts as present), and optionally a group. */
export interface SplitItem {
  id: string;
  targets?: ArrayLike<number>;
  /** Items sharing a group (e.g. series of one study) always land in the same subset. */
  group?: string;
}

export interface Fold {
  index: number;
  train: string[];
  val: string[];
}

export interface Holdout {
  train: string[];
  val: string[];
  test: string[];
}

/** Split items from dataset patients; `groupOf` maps a patient to the unit that must not be split (default: itself). */
export function splitItems(patients: readonly Patient[], groupOf?: (patient: Patient) => string): SplitItem[] {
  return patients.map((p) => ({ id: p.id, targets: p.targets, ...(groupOf ? { group: groupOf(p) } : {}) }));
}

/** Index of the largest value; ties broken by `tieBreak` then at random. */
function argmaxWithTies(values: readonly number[], rng: Rng, tieBreak?: readonly number[]): number {
  let best: number[] = [];
  for (let j = 0; j < values.length; j++) {
    if (best.length === 0) best = [j];
    else {
      const b = best[0];
      const diff = values[j] - values[b] || (tieBreak ? tieBreak[j] - tieBreak[b] : 0);
      if (diff > 0) best = [j];
      else if (diff === 0) best.push(j);
    }
  }
  return best.length === 1 ? best[0] : best[rng.int(best.length)];
}

/**
 * Iterative stratification (Sechidis, Tsoumakas & Vlahavas 2011) for multi-label data: assigns each sample to
 * one of `proportions.length` subsets so every label's positives spread in proportion. Labels are taken rarest
 * first; each of a label's samples goes to the subset that most lacks that label (then the subset that most
 * lacks samples, then at random). Samples without labels fill the subsets that most lack samples.
 */
export function iterativeStratification(labels: readonly boolean[][], proportions: readonly number[], rng: Rng): number[] {
  const n = labels.length;
  const labelCount = labels[0]?.length ?? 0;
  const wantSamples = proportions.map((r) => r * n);
  const wantLabel = proportions.map((r) => Array.from({ length: labelCount }, (_, l) => r * labels.filter((row) => row[l]).length));
  const subset = new Array<number>(n).fill(-1);
  const remaining = new Set(labels.map((_, i) => i));
  const assign = (i: number, j: number) => {
    subset[i] = j;
    remaining.delete(i);
    wantSamples[j] -= 1;
    labels[i].forEach((present, l) => {
      if (present) wantLabel[j][l] -= 1;
    });
  };
  for (;;) {
    const counts = Array.from({ length: labelCount }, (_, l) => [...remaining].filter((i) => labels[i][l]).length);
    const open = counts.map((c, l) => (c > 0 ? l : -1)).filter((l) => l >= 0);
    if (open.length === 0) break;
    const fewest = Math.min(...open.map((l) => counts[l]));
    const rarest = open.filter((l) => counts[l] === fewest);
    const label = rarest[rng.int(rarest.length)];
    const samples = rng.shuffle([...remaining].filter((i) => labels[i][label]));
    for (const i of samples) assign(i, argmaxWithTies(wantLabel.map((w) => w[label]), rng, wantSamples));
  }
  for (const i of rng.shuffle([...remaining])) assign(i, argmaxWithTies(wantSamples, rng));
  return subset;
}

/** Groups items into split units (a group is one unit, its labels OR-ed), in a stable order independent of input order. */
function splitUnits(items: readonly SplitItem[]): { keys: string[]; members: SplitItem[][]; labels: boolean[][] } {
  const ids = new Set<string>();
  for (const item of items) {
    if (ids.has(item.id)) throw new Error(`duplicate patient id '${item.id}' in the split input`);
    ids.add(item.id);
  }
  const width = Math.max(0, ...items.map((item) => item.targets?.length ?? 0));
  const groups = groupBy(items, (item) => item.group ?? `id:${item.id}`);
  const keys = [...groups.keys()].sort(compareNames);
  const members = keys.map((key) => groups.get(key)!.sort((a, b) => compareNames(a.id, b.id)));
  const labels = members.map((group) =>
    Array.from({ length: width }, (_, l) => group.some((item) => (item.targets?.[l] ?? 0) > 0)),
  );
  return { keys, members, labels };
}

function assignIds(members: SplitItem[][], subsets: number[], count: number): string[][] {
  const out = Array.from({ length: count }, () => [] as string[]);
  members.forEach((group, u) => out[subsets[u]].push(...group.map((item) => item.id)));
  return out.map((ids) => ids.sort(compareNames));
}

/**
 * k folds by patient, stratified on the labels (iterative stratification), seeded: fold i validates on subset i
 * and trains on the rest. Every patient (every group) is in exactly one validation subset.
 */
export function kFold(items: readonly SplitItem[], options: { k: number; seed: number }): Fold[] {
  const { k, seed } = options;
  if (!Number.isInteger(k) || k < 2) throw new Error(`k must be an integer ≥ 2, got ${k}`);
  const units = splitUnits(items);
  if (units.keys.length < k) throw new Error(`${k} folds need at least ${k} patients (or groups), got ${units.keys.length}`);
  const subsets = iterativeStratification(units.labels, Array.from({ length: k }, () => 1 / k), Rng.derive(seed, 'split', 'kfold', k));
  const folds = assignIds(units.members, subsets, k);
  return folds.map((val, index) => ({
    index,
    val,
    train: folds.flatMap((ids, j) => (j === index ? [] : ids)).sort(compareNames),
  }));
}

/** One train/val/test split by patient, stratified and seeded; fractions must sum to 1 (test may be 0). */
export function holdout(items: readonly SplitItem[], options: { train: number; val: number; test: number; seed: number }): Holdout {
  const fractions = [options.train, options.val, options.test];
  if (fractions.some((f) => !(f >= 0)) || Math.abs(fractions.reduce((a, b) => a + b, 0) - 1) > 1e-9) {
    throw new Error(`holdout fractions must be ≥ 0 and sum to 1, got train ${options.train}, val ${options.val}, test ${options.test}`);
  }
  const units = splitUnits(items);
  const subsets = iterativeStratification(units.labels, fractions, Rng.derive(options.seed, 'split', 'holdout'));
  const [train, val, test] = assignIds(units.members, subsets, 3);
  return { train, val, test };
}
