import type { Rng } from '../../core/rng.ts';
import { rsnaSubtypes } from '../datasets/rsna-ich.ts';

/**
 * A synthetic head-CT phantom in Hounsfield units: air, scalp, skull, brain (grey/white matter), lateral
 * ventricles, and the five intracranial-hemorrhage subtypes drawn with their characteristic shape and place.
 * Each lesion spans several contiguous slices and tapers at its ends; a slice is labelled positive for a subtype
 * exactly when that lesion covers enough pixels of it to be seen. Everything comes from the Rng passed in.
 */
export type Subtype = (typeof rsnaSubtypes)[number];
export const subtypes: readonly Subtype[] = rsnaSubtypes;

export const HU = {
  air: -1000,
  scalp: 15,
  bone: 1000,
  whiteMatter: 30,
  greyMatter: 40,
  csf: 5,
  /** The thin CSF layer (subarachnoid space) between skull and brain. */
  surfaceCsf: 10,
} as const;

export interface PhantomOptions {
  /** Pixels per side. */
  size: number;
  /** Slices per patient, drawn uniformly from [min, max]. */
  slices: [number, number];
  /** Share of patients without any lesion. */
  normalFraction: number;
}

export interface LesionSpec {
  subtype: Subtype;
  firstSlice: number;
  lastSlice: number;
  hu: number;
}

export interface PhantomVolume {
  size: number;
  /** One HU image per slice, bottom (skull base) to top (vertex), row-major. */
  slices: Float32Array[];
  /** Per slice, per subtype (in `subtypes` order): 1 when the lesion is visible on that slice. */
  labels: Uint8Array[];
  lesions: LesionSpec[];
}

interface HeadGeometry {
  cx: number;
  cy: number;
  /** Semi-axes (pixels) at the widest slice: left-right, anterior-posterior. */
  a: number;
  b: number;
  rotation: number;
  scalp: number;
  skull: number;
  /** Width of the CSF layer inside the skull. */
  surface: number;
  cortex: number;
  texturePhases: number[];
}

/** Where a pixel sits in the head at one slice: depth below the inner skull, angle, and head-frame coordinates. */
interface PixelPlace {
  /** Pixels inward from the outer skull surface (negative outside). */
  depth: number;
  angle: number;
  hx: number;
  hy: number;
  /** Scale of this slice's cross-section relative to the widest. */
  scale: number;
}

/** Lesion kinds chosen for abnormal patients, roughly as common as in the RSNA data. */
const lesionWeights: Record<Subtype, number> = {
  epidural: 0.12,
  intraparenchymal: 0.25,
  intraventricular: 0.15,
  subarachnoid: 0.23,
  subdural: 0.25,
};

/** Pixels a lesion must cover on a slice to be drawn and labelled there (scaled with resolution). */
function minimumVisiblePixels(size: number): number {
  return Math.max(2, Math.round(2 * (size / 64) ** 2));
}

/** Normalised height of slice i (−0.45 near the skull base … 0.8 near the vertex). */
function sliceHeight(index: number, count: number): number {
  return -0.45 + (1.25 * index) / Math.max(1, count - 1);
}

function crossSectionScale(height: number): number {
  return Math.sqrt(Math.max(0.2, 1 - height * height));
}

/** The lateral ventricles exist in the middle of the head; their size follows a bump over height. */
function ventricleScale(height: number): number {
  const t = (height - 0.15) / 0.32;
  return Math.abs(t) < 1 ? Math.sqrt(1 - t * t) : 0;
}

function drawGeometry(rng: Rng, size: number): HeadGeometry {
  const a = size * rng.uniform(0.33, 0.4);
  return {
    cx: size / 2 + rng.uniform(-0.03, 0.03) * size,
    cy: size / 2 + rng.uniform(-0.03, 0.03) * size,
    a,
    b: Math.min(size * 0.45, a * rng.uniform(1.08, 1.2)),
    rotation: (rng.uniform(-12, 12) * Math.PI) / 180,
    scalp: size * 0.025,
    skull: size * rng.uniform(0.035, 0.05),
    surface: Math.max(0.8, size * 0.015),
    cortex: size * 0.05,
    texturePhases: [rng.uniform(0, 6.3), rng.uniform(0, 6.3), rng.uniform(0, 6.3)],
  };
}

function place(geometry: HeadGeometry, scale: number, x: number, y: number): PixelPlace {
  const u = x - geometry.cx;
  const v = y - geometry.cy;
  const cos = Math.cos(geometry.rotation);
  const sin = Math.sin(geometry.rotation);
  const hx = cos * u + sin * v;
  const hy = -sin * u + cos * v;
  const a = geometry.a * scale;
  const b = geometry.b * scale;
  const rho = Math.hypot(hx / a, hy / b);
  const angle = Math.atan2(hy / b, hx / a);
  const radius = Math.hypot(a * Math.cos(angle), b * Math.sin(angle));
  const depth = (1 - rho) * radius;
  return { depth, angle, hx, hy, scale };
}

/** Inside one of the two lateral ventricles (a "butterfly" of tilted ellipses either side of the midline)? */
function inVentricle(geometry: HeadGeometry, p: PixelPlace, ventricles: number): 'left' | 'right' | undefined {
  if (ventricles <= 0) return undefined;
  for (const side of [-1, 1] as const) {
    const centreX = side * 0.14 * geometry.a * p.scale;
    const centreY = -0.05 * geometry.b * p.scale;
    const tilt = side * 0.3;
    const dx = p.hx - centreX;
    const dy = p.hy - centreY;
    const along = Math.cos(tilt) * dy - Math.sin(tilt) * dx;
    const across = Math.sin(tilt) * dy + Math.cos(tilt) * dx;
    const semiAlong = 0.32 * geometry.b * p.scale * ventricles;
    const semiAcross = 0.085 * geometry.a * p.scale * Math.max(0.6, ventricles);
    if ((along / semiAlong) ** 2 + (across / semiAcross) ** 2 <= 1) return side < 0 ? 'left' : 'right';
  }
  return undefined;
}

function angularDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % (2 * Math.PI);
  return d > Math.PI ? 2 * Math.PI - d : d;
}

/** A lesion's shape as a test per pixel, given its taper (0..1] on this slice. */
type LesionShape = (p: PixelPlace, taper: number, geometry: HeadGeometry, ventricle: 'left' | 'right' | undefined) => boolean;

/**
 * A collection against the inner skull over an arc (half-width drawn from `arc`, radians), `profile(t, taper)`
 * giving its thickness (as a fraction of one drawn from `thickness` × size) at arc position t ∈ [0, 1).
 */
function alongInnerSkull(
  rng: Rng,
  size: number,
  arc: [number, number],
  thickness: [number, number],
  profile: (t: number, taper: number) => number,
): LesionShape {
  const centre = rng.uniform(-Math.PI, Math.PI);
  const halfArc = rng.uniform(arc[0], arc[1]);
  const maxThickness = size * rng.uniform(thickness[0], thickness[1]);
  return (p, taper, g) => {
    const t = angularDistance(p.angle, centre) / halfArc;
    if (t >= 1) return false;
    const inner = p.depth - g.skull;
    return inner >= 0 && inner < maxThickness * profile(t, taper);
  };
}

function drawShape(subtype: Subtype, rng: Rng, size: number): LesionShape {
  switch (subtype) {
    case 'epidural':
      // Biconvex lens: thick in the middle, tapering over a short arc.
      return alongInnerSkull(rng, size, [0.35, 0.55], [0.07, 0.1], (t, taper) => taper * Math.sqrt(1 - t * t));
    case 'subdural':
      // Crescent: thin and long, its inner edge following the brain surface.
      return alongInnerSkull(rng, size, [0.8, 1.3], [0.035, 0.055], (t, taper) => Math.max(taper, 0.5) * Math.sqrt(1 - t ** 4));
    case 'intraparenchymal': {
      // An irregular blob deep in the brain.
      const radial = rng.uniform(0.15, 0.5);
      const direction = rng.uniform(-Math.PI, Math.PI);
      const radius = size * rng.uniform(0.05, 0.09);
      const lobes = [rng.uniform(0, 6.3), rng.uniform(0, 6.3)];
      return (p, taper, g) => {
        const dx = p.hx - Math.cos(direction) * radial * g.a * p.scale;
        const dy = p.hy - Math.sin(direction) * radial * g.b * p.scale;
        const psi = Math.atan2(dy, dx);
        const edge = radius * taper * (1 + 0.2 * Math.sin(3 * psi + lobes[0]) + 0.1 * Math.sin(5 * psi + lobes[1]));
        return Math.hypot(dx, dy) < edge && p.depth > g.skull + g.cortex * 0.5;
      };
    }
    case 'intraventricular': {
      // Blood layering in the dependent (posterior) horns of one or both lateral ventricles.
      const sides = rng.bernoulli(0.5) ? ['left', 'right'] : [rng.bernoulli(0.5) ? 'left' : 'right'];
      const level = rng.uniform(-0.05, 0.1);
      return (p, taper, g, ventricle) =>
        ventricle !== undefined && sides.includes(ventricle) && p.hy > (level - 0.15 * (1 - taper)) * g.b * p.scale;
    }
    case 'subarachnoid': {
      // Thin bright lines along the brain surface with short branches down the sulci.
      const centre = rng.uniform(-Math.PI, Math.PI);
      const halfArc = rng.uniform(0.6, 1.2);
      const band = Math.max(1.1, size * 0.022);
      const sulci = Array.from({ length: 2 + rng.int(3) }, () => centre + rng.uniform(-halfArc, halfArc));
      const sulcusDepth = size * rng.uniform(0.06, 0.1);
      return (p, taper, g) => {
        if (angularDistance(p.angle, centre) >= halfArc * Math.max(taper, 0.4)) return false;
        const inner = p.depth - g.skull;
        if (inner < 0) return false;
        if (inner < band) return true;
        const radius = Math.hypot(g.a * Math.cos(p.angle), g.b * Math.sin(p.angle)) * p.scale;
        return inner < sulcusDepth && sulci.some((s) => angularDistance(p.angle, s) * radius < 0.6 + size / 160);
      };
    }
  }
}

function chooseSubtypes(rng: Rng): Subtype[] {
  const count = rng.float() < 0.6 ? 1 : rng.float() < 0.75 ? 2 : 3;
  const pool = [...subtypes];
  const chosen: Subtype[] = [];
  while (chosen.length < count) {
    const total = pool.reduce((sum, s) => sum + lesionWeights[s], 0);
    let pick = rng.uniform(0, total);
    const index = pool.findIndex((s) => (pick -= lesionWeights[s]) < 0);
    chosen.push(...pool.splice(index === -1 ? pool.length - 1 : index, 1));
  }
  return chosen;
}

/** A contiguous run of slices: several long, within the slices where the lesion can exist. */
function drawSpan(rng: Rng, subtype: Subtype, count: number): [number, number] {
  const allowed = Array.from({ length: count }, (_, i) => i).filter(
    (i) => subtype !== 'intraventricular' || ventricleScale(sliceHeight(i, count)) > 0.3,
  );
  const first = allowed[0] ?? 0;
  const last = allowed[allowed.length - 1] ?? count - 1;
  const room = last - first + 1;
  const length = Math.min(room, 2 + rng.int(Math.max(1, Math.round(room * 0.5))));
  const start = first + rng.int(room - length + 1);
  return [start, start + length - 1];
}

export function generatePhantom(rng: Rng, options: PhantomOptions): PhantomVolume {
  const { size } = options;
  const [minSlices, maxSlices] = options.slices;
  const count = minSlices + rng.int(maxSlices - minSlices + 1);
  const geometry = drawGeometry(rng, size);
  const chosen = rng.float() < options.normalFraction ? [] : chooseSubtypes(rng);
  const lesions = chosen.map((subtype) => {
    const [firstSlice, lastSlice] = drawSpan(rng, subtype, count);
    return { spec: { subtype, firstSlice, lastSlice, hu: rng.uniform(62, 82) }, shape: drawShape(subtype, rng, size) };
  });
  const minPixels = minimumVisiblePixels(size);
  const noise = rng.uniform(3, 6);

  const slices: Float32Array[] = [];
  const labels: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const height = sliceHeight(index, count);
    const scale = crossSectionScale(height);
    const ventricles = ventricleScale(height);
    const image = new Float32Array(size * size);
    const masks = lesions.map(() => [] as number[]);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = place(geometry, scale, x, y);
        const pixel = y * size + x;
        const ventricle = p.depth >= geometry.skull ? inVentricle(geometry, p, ventricles) : undefined;
        image[pixel] = tissue(geometry, p, ventricle !== undefined);
        if (p.depth < geometry.skull) continue;
        lesions.forEach(({ spec, shape }, l) => {
          if (index < spec.firstSlice || index > spec.lastSlice) return;
          const half = (spec.lastSlice - spec.firstSlice) / 2 + 0.75;
          const offset = (index - (spec.firstSlice + spec.lastSlice) / 2) / half;
          if (shape(p, Math.sqrt(1 - offset * offset), geometry, ventricle)) masks[l].push(pixel);
        });
      }
    }
    const sliceLabels = new Uint8Array(subtypes.length);
    lesions.forEach(({ spec }, l) => {
      if (masks[l].length < minPixels) return;
      sliceLabels[subtypes.indexOf(spec.subtype)] = 1;
      for (const pixel of masks[l]) image[pixel] = Math.max(image[pixel], spec.hu);
    });
    for (let i = 0; i < image.length; i++) {
      image[i] += image[i] <= HU.air ? rng.normal() * 8 : rng.normal() * (image[i] > 500 ? 60 : noise);
    }
    slices.push(image);
    labels.push(sliceLabels);
  }
  return { size, slices, labels, lesions: lesions.map(({ spec }) => spec) };
}

/** Normal anatomy at one pixel (no lesions, no noise). */
function tissue(geometry: HeadGeometry, p: PixelPlace, inVentricle: boolean): number {
  if (p.depth < -geometry.scalp) return HU.air;
  if (p.depth < 0) return HU.scalp;
  if (p.depth < geometry.skull) return HU.bone;
  if (inVentricle) return HU.csf;
  if (p.depth - geometry.skull < geometry.surface) return HU.surfaceCsf;
  const [p0, p1, p2] = geometry.texturePhases;
  const texture = 2.5 * Math.sin(p.hx * 0.35 + p0) * Math.sin(p.hy * 0.29 + p1) + 1.5 * Math.sin((p.hx + p.hy) * 0.5 + p2);
  const cortex = p.depth - geometry.skull < geometry.cortex;
  return (cortex ? HU.greyMatter : HU.whiteMatter) + texture;
}
