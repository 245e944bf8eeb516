import sharp from 'sharp';
import type { Rng } from '../../core/rng.ts';

/**
 * Drawing for the 2-D demo generators: shapes are coverage functions over pixel coordinates (1 inside, 0
 * outside, a one-pixel ramp at the edge so small shapes keep their size when drawn at 32–64 px), combined with
 * `union`/`intersect`/`subtract` and painted onto a grey `Raster` of 8-bit-range values.
 */
export type Shape = (x: number, y: number) => number;

function clamp01(value: number): number {
  return value <= 0 ? 0 : value >= 1 ? 1 : value;
}

/** A filled ellipse centred at (cx, cy) with semi-axes rx, ry, turned by `rotation` radians. */
export function ellipse(cx: number, cy: number, rx: number, ry: number, rotation = 0): Shape {
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const edge = Math.min(rx, ry);
  return (x, y) => {
    const u = x - cx;
    const v = y - cy;
    const rho = Math.hypot((cos * u + sin * v) / rx, (-sin * u + cos * v) / ry);
    return clamp01((1 - rho) * edge + 0.5);
  };
}

/** A soft spot: Gaussian falloff with standard deviation `radius` (no hard edge: haze, oedema, infiltrates). */
export function glow(cx: number, cy: number, radius: number): Shape {
  return (x, y) => Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius * radius));
}

/** A stroke from (x0, y0) to (x1, y1), `halfWidth` pixels either side of the line. */
export function segment(x0: number, y0: number, x1: number, y1: number, halfWidth: number): Shape {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const lengthSquared = dx * dx + dy * dy || 1;
  return (x, y) => {
    const t = clamp01(((x - x0) * dx + (y - y0) * dy) / lengthSquared);
    const distance = Math.hypot(x - (x0 + t * dx), y - (y0 + t * dy));
    return clamp01(halfWidth - distance + 0.5);
  };
}

/** Everything below (y greater than) the line y = level: fluid levels, lower lung zones. */
export function below(level: number): Shape {
  return (_x, y) => clamp01(y - level + 0.5);
}

export function union(...shapes: Shape[]): Shape {
  return (x, y) => Math.max(...shapes.map((shape) => shape(x, y)));
}

export function intersect(...shapes: Shape[]): Shape {
  return (x, y) => Math.min(...shapes.map((shape) => shape(x, y)));
}

export function subtract(shape: Shape, hole: Shape): Shape {
  return (x, y) => shape(x, y) * (1 - hole(x, y));
}

/** A square grey image; values are on the 0..255 scale of the PNG it becomes. */
export class Raster {
  readonly data: Float32Array;

  constructor(
    readonly size: number,
    background = 0,
  ) {
    this.data = new Float32Array(size * size).fill(background);
  }

  private each(shape: Shape, paint: (index: number, coverage: number) => void): void {
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size; x++) {
        const coverage = shape(x + 0.5, y + 0.5);
        if (coverage > 0) paint(y * this.size + x, coverage);
      }
    }
  }

  /** Moves covered pixels towards `value` (fully where the shape covers them fully). */
  fill(shape: Shape, value: number): this {
    this.each(shape, (i, coverage) => (this.data[i] += (value - this.data[i]) * coverage));
    return this;
  }

  /** Adds `delta` × coverage: brightening or darkening what is already there. */
  shade(shape: Shape, delta: number): this {
    this.each(shape, (i, coverage) => (this.data[i] += delta * coverage));
    return this;
  }

  /** Gaussian noise of standard deviation `sigma` on every pixel. */
  noise(rng: Rng, sigma: number): this {
    for (let i = 0; i < this.data.length; i++) this.data[i] += rng.normal() * sigma;
    return this;
  }

  /** The pixels as stored: rounded and clamped to 0..255. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.data, (value) => Math.round(value <= 0 ? 0 : value >= 255 ? 255 : value));
  }

  /** An 8-bit greyscale PNG of `bytes()`. */
  png(): Promise<Buffer> {
    return sharp(this.bytes(), { raw: { width: this.size, height: this.size, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  }
}
