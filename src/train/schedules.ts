import { z } from 'zod';
import { Registry } from '../core/registry.ts';

/**
 * Learning-rate schedules, evaluated per epoch from the base rate and the history of the monitored metric.
 * They hold no state of their own: on-plateau replays the history, so a resumed run gets the same rates.
 */
export interface ScheduleInput {
  epoch: number;
  epochs: number;
  baseLearningRate: number;
  /** Monitored metric after each finished epoch (higher is better). */
  history: number[];
}

export type Schedule = (input: ScheduleInput) => number;

export const schedules = new Registry<void, Schedule>('schedule');

schedules.register({
  name: 'constant',
  description: 'the base rate throughout (after an optional linear warm-up)',
  schema: z.object({ warmupEpochs: z.number().int().min(0).default(0) }),
  create: (c) => ({ epoch, baseLearningRate }) => withWarmup(epoch, c.warmupEpochs, baseLearningRate),
});

schedules.register({
  name: 'cosine',
  description: 'cosine decay from the base rate to minLr over the run, after an optional linear warm-up',
  schema: z.object({ warmupEpochs: z.number().int().min(0).default(0), minLr: z.number().min(0).default(0) }),
  create: (c) => ({ epoch, epochs, baseLearningRate }) => {
    if (epoch < c.warmupEpochs) return withWarmup(epoch, c.warmupEpochs, baseLearningRate);
    const span = Math.max(1, epochs - c.warmupEpochs);
    const progress = Math.min(1, (epoch - c.warmupEpochs) / span);
    return c.minLr + 0.5 * (baseLearningRate - c.minLr) * (1 + Math.cos(Math.PI * progress));
  },
});

schedules.register({
  name: 'step',
  description: 'multiply the rate by gamma every stepEpochs epochs',
  schema: z.object({ stepEpochs: z.number().int().positive().default(10), gamma: z.number().positive().max(1).default(0.1) }),
  create: (c) => ({ epoch, baseLearningRate }) => baseLearningRate * c.gamma ** Math.floor(epoch / c.stepEpochs),
});

schedules.register({
  name: 'plateau',
  description: 'multiply the rate by factor when the monitored metric has not improved for patience epochs',
  schema: z.object({
    patience: z.number().int().positive().default(3),
    factor: z.number().positive().max(1).default(0.5),
    minLr: z.number().min(0).default(1e-6),
    minDelta: z.number().min(0).default(0),
  }),
  create: (c) => ({ baseLearningRate, history }) => {
    let rate = baseLearningRate;
    let best = -Infinity;
    let stale = 0;
    for (const value of history) {
      if (value > best + c.minDelta) {
        best = value;
        stale = 0;
      } else if (++stale >= c.patience) {
        rate = Math.max(c.minLr, rate * c.factor);
        stale = 0;
      }
    }
    return rate;
  },
});

function withWarmup(epoch: number, warmupEpochs: number, rate: number): number {
  return epoch < warmupEpochs ? (rate * (epoch + 1)) / (warmupEpochs + 1) : rate;
}

export type ScheduleConfig = { name: string } & Record<string, unknown>;

export function createSchedule(config: ScheduleConfig): Schedule {
  return schedules.create(config, undefined, 'schedule');
}
