import type { Slice } from '../types.ts';
import { withData } from './transform.ts';

/**
 * A centre-preserving similarity warp (rotation by `degrees`, counter-clockwise as displayed, and zoom by
 * `scale`) with bilinear sampling, output the same size as the input, `fill` outside the source.
 *
 * Typed-array code rather than sharp's `affine`: sharp sizes the output to the transformed bounding box anchored
 * at the origin and samples 8/16-bit integers, whereas augmentation needs a same-size, centre-anchored float
 * result (pixel centres at integer indices, the image centre at ((cols−1)/2, (rows−1)/2)).
 */
export function warpSlice(
  slice: Slice,
  { degrees, scale, fill, nearest = false }: { degrees: number; scale: number; fill: number; /** Nearest-neighbour sampling (label maps). */ nearest?: boolean },
): Slice {
  if (degrees === 0 && scale === 1) return slice;
  const { rows, cols, channels, data } = slice;
  const radians = (degrees * Math.PI) / 180;
  // Inverse map: output pixel → source position (rotate back by −θ, shrink by 1/scale). Rows grow downwards,
  // so a counter-clockwise display rotation is clockwise in (x, y-down) coordinates.
  const cos = Math.cos(radians) / scale;
  const sin = Math.sin(radians) / scale;
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const dy = r - cy;
    for (let c = 0; c < cols; c++) {
      const dx = c - cx;
      const x = cx + cos * dx - sin * dy;
      const y = cy + sin * dx + cos * dy;
      if (nearest) sampleNearest(data, rows, cols, channels, x, y, fill, out, (r * cols + c) * channels);
      else sampleBilinear(data, rows, cols, channels, x, y, fill, out, (r * cols + c) * channels);
    }
  }
  return withData(slice, out);
}

/** The nearest pixel's values at (x, y), or `fill` outside the image. */
function sampleNearest(data: Float32Array, rows: number, cols: number, channels: number, x: number, y: number, fill: number, out: Float32Array, offset: number): void {
  const xx = Math.round(x);
  const yy = Math.round(y);
  const inside = yy >= 0 && yy < rows && xx >= 0 && xx < cols;
  const base = (yy * cols + xx) * channels;
  for (let k = 0; k < channels; k++) out[offset + k] = inside ? data[base + k] : fill;
}

/** Nearest-neighbour resize to rows × cols (label maps: values are copied, never blended). */
export function resizeNearest(slice: Slice, rows: number, cols: number): Slice {
  if (slice.rows === rows && slice.cols === cols) return slice;
  const { channels, data } = slice;
  const out = new Float32Array(rows * cols * channels);
  for (let r = 0; r < rows; r++) {
    const sr = Math.min(slice.rows - 1, Math.floor(((r + 0.5) * slice.rows) / rows));
    for (let c = 0; c < cols; c++) {
      const sc = Math.min(slice.cols - 1, Math.floor(((c + 0.5) * slice.cols) / cols));
      const from = (sr * slice.cols + sc) * channels;
      const to = (r * cols + c) * channels;
      for (let k = 0; k < channels; k++) out[to + k] = data[from + k];
    }
  }
  return withData(slice, out, rows, cols, channels);
}

/** Bilinear sample at (x, y); neighbours outside the image count as `fill`. Snaps near-integers to stay exact. */
function sampleBilinear(
  data: Float32Array,
  rows: number,
  cols: number,
  channels: number,
  x: number,
  y: number,
  fill: number,
  out: Float32Array,
  offset: number,
): void {
  const sx = Math.abs(x - Math.round(x)) < 1e-9 ? Math.round(x) : x;
  const sy = Math.abs(y - Math.round(y)) < 1e-9 ? Math.round(y) : y;
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
  const corners = [
    [y0, x0],
    [y0, x0 + 1],
    [y0 + 1, x0],
    [y0 + 1, x0 + 1],
  ];
  for (let k = 0; k < channels; k++) out[offset + k] = 0;
  for (let corner = 0; corner < 4; corner++) {
    const weight = weights[corner];
    if (weight === 0) continue;
    const [yy, xx] = corners[corner];
    const inside = yy >= 0 && yy < rows && xx >= 0 && xx < cols;
    const base = (yy * cols + xx) * channels;
    for (let k = 0; k < channels; k++) out[offset + k] += weight * (inside ? data[base + k] : fill);
  }
}
