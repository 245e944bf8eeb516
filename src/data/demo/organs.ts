import { Rng } from '../../core/rng.ts';
import type { ManifestDemoKind } from './manifest-demo.ts';
import { ellipse, intersect, Raster, union, type Shape } from './raster.ts';

/**
 * Synthetic abdominal CT slices in the spirit of the RSNA 2023 Abdominal Trauma Detection competition: an
 * abdomen with liver, spleen, both kidneys, bowel loops, aorta and spine. Per patient:
 * - liver, spleen, kidney: healthy / low / high-grade injury. Low: two thin dark lacerations in the organ
 *   (one kidney for the kidney). High: a large dark irregular region and the whole organ hypo-perfused (darker);
 * - bowel_injury: free air, a few black bubbles in the front of the abdomen;
 * - extravasation: active bleeding, one or two contrast-bright spots beside an organ.
 * Every finding shows on every slice of the patient (labels are per patient).
 */
export const organGrades = ['healthy', 'low', 'high'] as const;
export type OrganGrade = (typeof organGrades)[number];
export const injuredOrgans = ['liver', 'spleen', 'kidney'] as const;
export type InjuredOrgan = (typeof injuredOrgans)[number];

export interface OrganLabels {
  bowel_injury: boolean;
  extravasation: boolean;
  organs: Record<InjuredOrgan, OrganGrade>;
}

interface Organ {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  rotation: number;
  value: number;
  /** The height (0 bottom … 1 top slice) where its cross-section is largest. */
  z: number;
}

function drawGrade(rng: Rng): OrganGrade {
  const pick = rng.float();
  return pick < 0.6 ? 'healthy' : pick < 0.85 ? 'low' : 'high';
}

/** Organs in pixels, positions and sizes jittered per patient. */
function drawAnatomy(rng: Rng, size: number) {
  const jitter = () => rng.uniform(-0.02, 0.02) * size;
  const scale = () => rng.uniform(0.92, 1.08);
  const organ = (cx: number, cy: number, rx: number, ry: number, rotation: number, value: number, z: number): Organ => ({
    cx: cx * size + jitter(),
    cy: cy * size + jitter(),
    rx: rx * size * scale(),
    ry: ry * size * scale(),
    rotation,
    value,
    z,
  });
  return {
    body: organ(0.5, 0.52, 0.45, 0.37, 0, 100, 0.5),
    liver: organ(0.3, 0.43, 0.17, 0.13, -0.35, 150, 0.3),
    spleen: organ(0.74, 0.4, 0.075, 0.11, 0.4, 140, 0.35),
    kidneys: [organ(0.34, 0.7, 0.075, 0.1, 0.3, 165, 0.7), organ(0.66, 0.7, 0.075, 0.1, -0.3, 165, 0.7)],
    aorta: organ(0.53, 0.68, 0.028, 0.028, 0, 190, 0.5),
    spine: organ(0.5, 0.82, 0.07, 0.06, 0, 225, 0.5),
    bowel: Array.from({ length: 5 }, () => organ(rng.uniform(0.44, 0.6), rng.uniform(0.46, 0.62), rng.uniform(0.035, 0.05), rng.uniform(0.03, 0.045), rng.uniform(0, 3), 120, 0.5)),
  };
}

/** The organ's cross-section on a slice at height z: largest at its own z, smaller away from it. */
function section(organ: Organ, z: number, shrink = 1): Shape {
  const factor = (1 - 0.4 * Math.abs(z - organ.z)) * shrink;
  return ellipse(organ.cx, organ.cy, organ.rx * factor, organ.ry * factor, organ.rotation);
}

/** Where a grade shows inside an organ: lacerations (low) or a large defect (high), in organ-relative units. */
interface InjuryGeometry {
  lacerations: Array<{ angle: number; offset: [number, number] }>;
  defect: Array<{ offset: [number, number]; radius: number }>;
}

function drawInjury(rng: Rng): InjuryGeometry {
  return {
    lacerations: Array.from({ length: 2 }, () => ({ angle: rng.uniform(0, Math.PI), offset: [rng.uniform(-0.35, 0.35), rng.uniform(-0.35, 0.35)] as [number, number] })),
    defect: Array.from({ length: 3 }, () => ({ offset: [rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)] as [number, number], radius: rng.uniform(0.4, 0.55) })),
  };
}

function paintInjury(image: Raster, organ: Organ, z: number, grade: OrganGrade, geometry: InjuryGeometry): void {
  if (grade === 'healthy') return;
  const factor = 1 - 0.4 * Math.abs(z - organ.z);
  const inside = section(organ, z, 0.9);
  const at = ([u, v]: [number, number]) => [organ.cx + u * organ.rx * factor, organ.cy + v * organ.ry * factor] as const;
  if (grade === 'low') {
    const halfWidth = Math.max(0.7, image.size * 0.015);
    for (const { angle, offset } of geometry.lacerations) {
      const [x, y] = at(offset);
      const length = 0.55 * Math.max(organ.rx, organ.ry) * factor;
      const stroke = ellipse(x, y, length, halfWidth, angle);
      image.fill(intersect(stroke, inside), organ.value - 60);
    }
    return;
  }
  image.shade(section(organ, z), -25);
  const defect = union(...geometry.defect.map(({ offset, radius }) => {
    const [x, y] = at(offset);
    return ellipse(x, y, radius * organ.rx * factor, radius * organ.ry * factor);
  }));
  image.fill(intersect(defect, inside), organ.value - 70);
}

export const organsDemo: ManifestDemoKind<OrganLabels> = {
  name: 'organs',
  description: 'abdominal CT phantom: liver/spleen/kidney healthy/low/high injury, bowel injury and extravasation signs',
  labels: {
    groups: [
      { kind: 'binary', name: 'signs', classes: ['bowel_injury', 'extravasation'] },
      ...injuredOrgans.map((organ) => ({ kind: 'categorical' as const, name: organ, classes: [...organGrades] })),
    ],
  },
  defaults: { size: 48, slices: 4 },

  drawLabels: (rng) => ({
    bowel_injury: rng.bernoulli(0.2),
    extravasation: rng.bernoulli(0.2),
    organs: { liver: drawGrade(rng), spleen: drawGrade(rng), kidney: drawGrade(rng) },
  }),

  cells: (labels) => ({
    bowel_injury: labels.bowel_injury ? '1' : '0',
    extravasation: labels.extravasation ? '1' : '0',
    ...labels.organs,
  }),

  render: (labels, seed, { size, slices }) => {
    const anatomy = drawAnatomy(Rng.derive(seed, 'anatomy'), size);
    const injury = Object.fromEntries(injuredOrgans.map((organ) => [organ, drawInjury(Rng.derive(seed, 'finding', organ))])) as Record<InjuredOrgan, InjuryGeometry>;
    const injuredKidney = anatomy.kidneys[Rng.derive(seed, 'finding', 'kidney-side').int(2)];
    const airRng = Rng.derive(seed, 'finding', 'bowel_injury');
    const bubbles = Array.from({ length: 3 }, () => ({
      x: anatomy.body.cx + airRng.uniform(-0.3, 0.3) * anatomy.body.rx,
      y: anatomy.body.cy - airRng.uniform(0.55, 0.8) * anatomy.body.ry,
      radius: Math.max(0.9, airRng.uniform(0.02, 0.03) * size),
    }));
    const bleedRng = Rng.derive(seed, 'finding', 'extravasation');
    const bleedingOrgan = [anatomy.liver, anatomy.spleen, ...anatomy.kidneys][bleedRng.int(4)];
    const bleeds = Array.from({ length: 1 + bleedRng.int(2) }, () => {
      const angle = bleedRng.uniform(0, 2 * Math.PI);
      return { x: bleedingOrgan.cx + Math.cos(angle) * bleedingOrgan.rx * 1.1, y: bleedingOrgan.cy + Math.sin(angle) * bleedingOrgan.ry * 1.1, radius: Math.max(1, bleedRng.uniform(0.025, 0.04) * size) };
    });
    const noise = Rng.derive(seed, 'noise');

    return Array.from({ length: slices }, (_, k) => {
      const z = (k + 0.5) / slices;
      const image = new Raster(size, 10);
      const { body } = anatomy;
      image.fill(ellipse(body.cx, body.cy, body.rx, body.ry), 70); // subcutaneous fat
      image.fill(ellipse(body.cx, body.cy, body.rx * 0.9, body.ry * 0.88), body.value);
      for (const loop of anatomy.bowel) {
        image.fill(section(loop, z), loop.value);
        image.fill(section(loop, z, 0.55), 85); // bowel content
      }
      for (const organ of [anatomy.liver, anatomy.spleen, ...anatomy.kidneys, anatomy.aorta, anatomy.spine]) image.fill(section(organ, z), organ.value);
      paintInjury(image, anatomy.liver, z, labels.organs.liver, injury.liver);
      paintInjury(image, anatomy.spleen, z, labels.organs.spleen, injury.spleen);
      paintInjury(image, injuredKidney, z, labels.organs.kidney, injury.kidney);
      if (labels.bowel_injury) for (const b of bubbles) image.fill(ellipse(b.x, b.y, b.radius, b.radius), 5);
      if (labels.extravasation) for (const b of bleeds) image.fill(ellipse(b.x, b.y, b.radius, b.radius), 250);
      return image.noise(noise, 5);
    });
  },
};
