import { resolve } from 'node:path';
import type { BackendPreference } from '../backend/select.ts';
import { datasets } from '../data/datasets/registry.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { backbones } from '../models/backbones/index.ts';
import { decoders } from '../models/decoders/index.ts';
import { denseModels } from '../models/dense/index.ts';
import { encoders } from '../models/encoders/index.ts';
import { heads } from '../models/heads/index.ts';
import { losses } from '../losses/registry.ts';
import { optimizers } from '../train/optimizers.ts';
import { schedules } from '../train/schedules.ts';
import { applySet, mergeExperiment, parseExperiment, type Experiment, type ExperimentInput } from './config.ts';

/** What the command line adds to an experiment file. */
export interface ResolveOptions {
  /** Overrides the dataset's `root`. */
  data?: string;
  /** `key.path=value` assignments applied on top of the file. */
  sets?: string[];
  seed?: number;
  backend?: BackendPreference;
  /** TensorFlow intra-op threads (overrides the experiment's `threads`). */
  threads?: number;
  /** Merge the experiment's `quick` overrides first (tests, smoke runs). */
  quick?: boolean;
}

interface ComponentRegistry {
  resolve(name: string, options: Record<string, unknown>, where: string): Record<string, unknown>;
}

/** `{ name, ...options }` with the options validated by the named registry entry and its defaults filled in. */
function component<C extends { name: string }>(config: C, registry: ComponentRegistry, where: string): C {
  const { name, ...options } = config;
  return { name, ...registry.resolve(name, options, where) } as unknown as C;
}

/**
 * A dataset config with its location absolute (against the working folder): `root`, or a manifest's `csv` when it
 * names no root. config.json then says where the data was, whatever folder a later command runs from.
 */
function absoluteLocation<C extends { name: string }>(config: C): C {
  const located = config as C & { root?: unknown; csv?: unknown };
  if (typeof located.root === 'string') return { ...config, root: resolve(located.root) };
  if (typeof located.csv === 'string') return { ...config, csv: resolve(located.csv) };
  return config;
}

/** The config fields that say where an experiment's data lives (see `absoluteLocation`): moved data may change them. */
export const DATA_LOCATION_FIELDS = ['data.dataset.root', 'data.dataset.csv', 'split.test.root', 'split.test.csv'] as const;

/** The data root as the experiment file and command line give it, before `resolveExperiment` makes it absolute. */
export function givenDataRoot(input: ExperimentInput, options: ResolveOptions = {}): string | undefined {
  const dataset = (applyOptions(input, options).data as { dataset?: { root?: unknown } } | undefined)?.dataset;
  return typeof dataset?.root === 'string' ? dataset.root : undefined;
}

/** The command line's changes to an experiment file, not yet validated. */
function applyOptions(input: ExperimentInput, options: ResolveOptions): Record<string, unknown> {
  let raw = structuredClone(input) as Record<string, unknown>;
  if (options.quick) raw = mergeExperiment(raw, (input as { quick?: Record<string, unknown> }).quick ?? {});
  for (const assignment of options.sets ?? []) raw = applySet(raw, assignment);
  if (options.seed !== undefined) raw.seed = options.seed;
  if (options.backend) raw.backend = options.backend;
  if (options.threads) raw.threads = options.threads;
  if (options.data) raw = mergeExperiment(raw, { data: { dataset: { root: options.data } } });
  return raw;
}

/**
 * The experiment as it will run: quick overrides, `--set`, seed, backend and data folder applied, then validated,
 * every registered component's name and options included, before any data is read; each component comes back
 * with its defaults filled in and its data location absolute, the form a run saves as config.json. Runner, ablation planner, extraction and
 * prediction all start here.
 */
export function resolveExperiment(input: ExperimentInput, options: ResolveOptions = {}): Experiment {
  const raw = applyOptions(input, options);
  const experiment = parseExperiment(raw, `experiment '${String(raw.name ?? '?')}'`);
  const { data, model } = experiment;
  // A group's loss is checked here but kept as written: naming a group's default loss keeps that group's own
  // defaults (e.g. its label smoothing), which only the label schema knows (losses/criterion.ts).
  for (const [group, objective] of Object.entries(experiment.loss.groups)) {
    if (objective.loss) component(objective.loss, losses, `loss.groups.${group}.loss`);
  }
  const resolved: Experiment = {
    ...experiment,
    data: { ...data, dataset: absoluteLocation(component(data.dataset, datasets, 'data.dataset')), preprocess: buildPreprocess(data.preprocess).config() },
    split: { ...experiment.split, ...(typeof experiment.split.test === 'object' ? { test: absoluteLocation(component(experiment.split.test, datasets, 'split.test')) } : {}) },
    model: {
      ...model,
      ...(model.backbone ? { backbone: component(model.backbone, backbones, 'model.backbone') } : {}),
      ...(model.encoder ? { encoder: component(model.encoder, encoders, 'model.encoder') } : {}),
      ...(model.decoder ? { decoder: component(model.decoder, decoders, 'model.decoder') } : {}),
      ...(model.dense ? { dense: component(model.dense, denseModels, 'model.dense') } : {}),
      heads: Object.fromEntries(Object.entries(model.heads).map(([kind, options]) => [kind, heads.resolve(kind, options, `model.heads.${kind}`)])),
    },
    optimizer: component(experiment.optimizer, optimizers, 'optimizer'),
    schedule: component(experiment.schedule, schedules, 'schedule'),
  };
  // The resolved form parses as an experiment again (`--resume` compares it with the saved one).
  return parseExperiment(resolved, `experiment '${experiment.name}' (resolved)`);
}

