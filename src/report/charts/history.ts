import type { TopLevelSpec } from 'vega-lite';
import { chartBase } from './common.ts';

/** One value of one series at one epoch, e.g. { epoch: 3, series: 'validation loss', value: 0.41 }. */
export interface EpochPoint {
  epoch: number;
  series: string;
  value: number;
}

export interface EpochCurvesOptions {
  title: string;
  yTitle: string;
  /** Marked with a dashed rule: the epoch whose weights were kept. */
  bestEpoch?: number | null;
  /** Keep the y axis within [0, 1] (scores) instead of fitting the data (losses). */
  unitRange?: boolean;
}

/** Per-epoch curves, one line per series, with the best epoch marked. */
export function epochCurvesSpec(points: readonly EpochPoint[], options: EpochCurvesOptions): TopLevelSpec {
  const line = {
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line' as const, point: true, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: {
        field: 'value',
        type: 'quantitative' as const,
        title: options.yTitle,
        scale: options.unitRange ? { domain: [0, 1], nice: false } : { zero: false },
      },
      color: { field: 'series', type: 'nominal' as const, title: null },
      tooltip: [{ field: 'series' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
    },
  };
  const best =
    options.bestEpoch !== undefined && options.bestEpoch !== null
      ? [{ data: { values: [{}] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#777' }, encoding: { x: { datum: options.bestEpoch, type: 'quantitative' as const } } }]
      : [];
  const bestNote = best.length > 0 ? `; dashed rule: best epoch ${options.bestEpoch}` : '';
  return {
    ...chartBase(options.title, `${options.title}: ${options.yTitle} per epoch${bestNote}`),
    width: 320,
    height: 200,
    layer: [line, ...best],
  } satisfies TopLevelSpec;
}

/** One value of one series at one optimizer step. */
export interface StepPoint {
  step: number;
  series: string;
  value: number;
}

/** Per-step curves (no point marks: thousands of steps), one line per series; `epochEnds` marks where epochs end. */
export function stepCurvesSpec(
  points: readonly StepPoint[],
  options: {
    title: string;
    yTitle: string;
    epochEnds?: readonly number[];
    yFormat?: string;
    /** 'step-after' for values that hold until the next point (a learning rate set per epoch). */
    interpolate?: 'linear' | 'step-after';
    /** A series drawn at full strength over the others (faded): a smoothed curve over the raw one. */
    highlight?: string;
  },
): TopLevelSpec {
  const line = {
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line' as const, strokeWidth: 1.2, interpolate: options.interpolate ?? ('linear' as const) },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, title: 'optimizer step', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative' as const, title: options.yTitle, scale: { zero: false }, ...(options.yFormat ? { axis: { format: options.yFormat } } : {}) },
      color: { field: 'series', type: 'nominal' as const, title: null },
      ...(options.highlight ? { opacity: { condition: { test: `datum.series === ${JSON.stringify(options.highlight)}`, value: 1 }, value: 0.4 } } : {}),
      tooltip: [{ field: 'series' }, { field: 'step' }, { field: 'value', format: '.4g' }],
    },
  };
  const ends = (options.epochEnds ?? []).map((step) => ({ step }));
  const rules = ends.length > 0 ? [{ data: { values: ends }, mark: { type: 'rule' as const, color: '#ccc', strokeWidth: 1 }, encoding: { x: { field: 'step', type: 'quantitative' as const } } }] : [];
  return {
    ...chartBase(options.title, `${options.title}: ${options.yTitle} per optimizer step${ends.length > 0 ? '; grey rules: epoch ends' : ''}`),
    width: 320,
    height: 200,
    layer: [...rules, line],
  } satisfies TopLevelSpec;
}

/** TensorBoard's default smoothing weight. */
export const SMOOTHING = 0.6;

/** TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to zero. */
export function smoothed(values: readonly number[], weight = SMOOTHING): number[] {
  let average = 0;
  return values.map((value, i) => {
    average = weight * average + (1 - weight) * value;
    return average / (1 - weight ** (i + 1));
  });
}
