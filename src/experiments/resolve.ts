import type { BackendPreference } from '../backend/select.ts';
import { datasets } from '../data/datasets/registry.ts';
import { buildPreprocess } from '../data/preprocess.ts';
import { backbones } from '../models/backbones/index.ts';
import { decoders } from '../models/decoders/index.ts';
import { encoders } from '../models/encoders/index.ts';
import { heads } from '../models/heads/index.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { createSchedule } from '../train/schedules.ts';
import { applySet, deepMerge, parseExperiment, type Experiment, type ExperimentInput } from './config.ts';

/** What the command line adds to an experiment file. */
export interface ResolveOptions {
  /** Overrides the dataset's `root`. */
  data?: string;
  /** `key.path=value` assignments applied on top of the file. */
  sets?: string[];
  seed?: number;
  backend?: BackendPreference;
  /** Merge the experiment's `quick` overrides first (tests, smoke runs). */
  quick?: boolean;
}

/**
 * The experiment as it will run: quick overrides, `--set`, seed, backend and data folder applied, then validated,
 * every registered component's name and options included, before any data is read. Runner, ablation planner,
 * extraction and prediction all start here.
 */
export function resolveExperiment(input: ExperimentInput, options: ResolveOptions = {}): Experiment {
  let raw = structuredClone(input) as Record<string, unknown>;
  if (options.quick) raw = deepMerge(raw, (input as { quick?: unknown }).quick ?? {}) as Record<string, unknown>;
  for (const assignment of options.sets ?? []) raw = applySet(raw, assignment);
  if (options.seed !== undefined) raw.seed = options.seed;
  if (options.backend) raw.backend = options.backend;
  if (options.data) raw = deepMerge(raw, { data: { dataset: { root: options.data } } }) as Record<string, unknown>;
  const experiment = parseExperiment(raw, `experiment '${String(raw.name ?? '?')}'`);
  const component = (config: { name: string } & Record<string, unknown>, where: string, registry: { resolve: (name: string, options: Record<string, unknown>, where: string) => unknown }) => {
    const { name, ...rest } = config;
    registry.resolve(name, rest, where);
  };
  component(experiment.data.dataset, 'data.dataset', datasets);
  buildPreprocess(experiment.data.preprocess);
  const { backbone, encoder, decoder } = experiment.model;
  if (backbone) component(backbone, 'model.backbone', backbones);
  component(encoder, 'model.encoder', encoders);
  component(decoder, 'model.decoder', decoders);
  for (const [kind, headOptions] of Object.entries(experiment.model.heads)) heads.resolve(kind, headOptions, `model.heads.${kind}`);
  createSchedule(experiment.schedule);
  createOptimizer(experiment.optimizer).optimizer.dispose();
  return experiment;
}
