/**
 * Student's t distribution with whole degrees of freedom, for intervals of a mean over a few trials (seeds,
 * folds): the cumulative distribution from its closed form in θ = atan(t / √ν) (Abramowitz & Stegun 26.7.3-4,
 * elementary functions only, so it is exact to rounding), and its quantile by bisection. Checked against scipy.
 */

function checkDegrees(df: number): void {
  if (!Number.isInteger(df) || df < 1) throw new Error(`Student t: degrees of freedom must be a whole number >= 1, got ${df}`);
}

/** P(|T| ≤ t) for t ≥ 0. */
function centralProbability(t: number, df: number): number {
  const theta = Math.atan(t / Math.sqrt(df));
  const cos2 = Math.cos(theta) ** 2;
  // The series in cos²θ: odd ν starts at 1 with ratios 2k/(2k+1), even ν at 1 with ratios (2k−1)/(2k).
  let term = 1;
  let sum = 1;
  const odd = df % 2 === 1;
  for (let k = 1; k <= (odd ? (df - 3) / 2 : (df - 2) / 2); k++) {
    term *= (odd ? (2 * k) / (2 * k + 1) : (2 * k - 1) / (2 * k)) * cos2;
    sum += term;
  }
  if (!odd) return Math.sin(theta) * sum;
  if (df === 1) return (2 / Math.PI) * theta;
  return (2 / Math.PI) * (theta + Math.sin(theta) * Math.cos(theta) * sum);
}

/** P(T ≤ t) for T with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDegrees(df);
  const central = centralProbability(Math.abs(t), df);
  return t >= 0 ? 0.5 + central / 2 : 0.5 - central / 2;
}

/** The t with P(T ≤ t) = p. */
export function studentTQuantile(p: number, df: number): number {
  checkDegrees(df);
  if (!(p > 0 && p < 1)) throw new Error(`Student t quantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i++) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** The t interval of the mean of `values` at `confidence`; null with fewer than two values. */
export function meanConfidenceInterval(values: readonly number[], confidence = 0.95): { mean: number; lower: number; upper: number } | null {
  if (!(confidence > 0 && confidence < 1)) throw new Error(`mean interval: confidence must be in (0, 1), got ${confidence}`);
  const n = values.length;
  if (n < 2) return null;
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  const half = studentTQuantile((1 + confidence) / 2, n - 1) * Math.sqrt(variance / n);
  return { mean, lower: mean - half, upper: mean + half };
}
