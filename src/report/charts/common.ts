import type { TopLevelSpec } from 'vega-lite';

/**
 * What every chart of a report shares: white background, a readable font size, and no interactive parts (the
 * reports are static SVG).
 */
export const chartConfig: NonNullable<TopLevelSpec['config']> = {
  background: 'white',
  font: 'DejaVu Sans, Verdana, sans-serif',
  title: { fontSize: 13, anchor: 'start' },
  axis: { labelFontSize: 10, titleFontSize: 11 },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  header: { labelFontSize: 11, titleFontSize: 11 },
};

/** Spec fields every chart starts from: its title, an accessible description and the shared config. */
export function chartBase(title: string, description: string): Pick<TopLevelSpec, 'title' | 'description' | 'config' | 'padding'> {
  return { title, description, config: chartConfig, padding: 8 };
}

/** A 0..1 axis for rates and scores. */
export const unitScale = (): { domain: number[]; nice: boolean } => ({ domain: [0, 1], nice: false });
