import { Rng } from '../../core/rng.ts';
import type { ManifestDemoKind } from './manifest-demo.ts';
import { below, ellipse, glow, intersect, Raster, subtract } from './raster.ts';

/**
 * Synthetic joint MRI slices with four kinds of damage, each graded 0 (none) to 3 (severe), the grade drawn as
 * the lesion's size: a joint effusion (bright fluid pocket above the joint), a cartilage defect (a gap in the
 * cartilage cap), bone-marrow edema (a bright haze in the marrow) and an erosion (a black notch in the bone
 * edge). Each kind has its own place, so the four grades are independent and all readable from one image.
 */
export const damageTypes = ['effusion', 'cartilage', 'edema', 'erosion'] as const;
export type DamageType = (typeof damageTypes)[number];
export const DAMAGE_LEVELS = 4;

export type DamageGrades = Record<DamageType, number>;

/** Lesion radius per grade, as a fraction of the image side. */
const gradeRadius = [0, 0.045, 0.075, 0.11];

function drawGradeValue(rng: Rng): number {
  const pick = rng.float();
  return pick < 0.4 ? 0 : pick < 0.65 ? 1 : pick < 0.85 ? 2 : 3;
}

export const ordinalDemo: ManifestDemoKind<DamageGrades> = {
  name: 'ordinal',
  description: 'joint MRI phantom: effusion, cartilage, edema and erosion damage, each graded 0-3 by lesion size',
  labels: { groups: [{ kind: 'ordinal', name: 'damage', classes: [...damageTypes], levels: DAMAGE_LEVELS }] },
  defaults: { size: 48, slices: 3 },

  drawLabels: (rng) => Object.fromEntries(damageTypes.map((type) => [type, drawGradeValue(rng)])) as DamageGrades,

  cells: (grades) => Object.fromEntries(damageTypes.map((type) => [type, String(grades[type])])),

  render: (grades, seed, { size, slices }) => {
    const anatomy = Rng.derive(seed, 'anatomy');
    const cx = size * (0.5 + anatomy.uniform(-0.03, 0.03));
    const cy = size * (0.56 + anatomy.uniform(-0.03, 0.03));
    const rx = size * 0.26 * anatomy.uniform(0.93, 1.07);
    const ry = size * 0.2 * anatomy.uniform(0.93, 1.07);
    const cortex = size * 0.025;
    const cartilage = size * 0.05;
    const bone = ellipse(cx, cy, rx + cortex, ry + cortex);
    const marrow = ellipse(cx, cy, rx, ry);
    // The cartilage cap: a band over the upper half of the bone.
    const cap = subtract(subtract(ellipse(cx, cy, rx + cortex + cartilage, ry + cortex + cartilage), below(cy)), bone);
    // Each damage kind's place and size jitter, drawn whatever its grade.
    const place = Object.fromEntries(
      damageTypes.map((type) => {
        const rng = Rng.derive(seed, 'finding', type);
        return [type, { angle: rng.uniform(-0.35, 0.35), shift: rng.uniform(-0.25, 0.25), scale: rng.uniform(0.9, 1.1) }];
      }),
    ) as Record<DamageType, { angle: number; shift: number; scale: number }>;
    const noise = Rng.derive(seed, 'noise');

    return Array.from({ length: slices }, (_, k) => {
      const z = (k + 0.5) / slices;
      const taper = 1 - 0.3 * Math.abs(2 * z - 1);
      const radius = (type: DamageType) => gradeRadius[grades[type]] * size * place[type].scale * taper;
      const image = new Raster(size, 25);
      image.fill(ellipse(size / 2, size / 2, size * 0.46, size * 0.46), 85); // soft tissue
      image.fill(bone, 40);
      image.fill(cap, 125);
      image.fill(marrow, 165);
      if (grades.effusion > 0) {
        const r = radius('effusion');
        image.fill(ellipse(cx + place.effusion.shift * rx, cy - ry - cortex - cartilage - r * 0.9, r * 2, r * 0.9), 235);
      }
      if (grades.cartilage > 0) {
        // On the cap's upper-left part.
        const angle = -0.7 * Math.PI + place.cartilage.angle;
        const x = cx + Math.cos(angle) * (rx + cortex + cartilage / 2);
        const y = cy + Math.sin(angle) * (ry + cortex + cartilage / 2);
        image.fill(intersect(cap, ellipse(x, y, radius('cartilage') * 1.3, radius('cartilage') * 1.3)), 30);
      }
      if (grades.edema > 0) {
        const r = radius('edema');
        image.shade(intersect(marrow, glow(cx + rx * (0.45 + place.edema.shift / 2), cy + place.edema.angle * ry, r)), 75);
      }
      if (grades.erosion > 0) {
        // Eating through the cortex into the marrow at the bone's lower edge.
        const angle = 0.5 * Math.PI + place.erosion.angle;
        const x = cx + Math.cos(angle) * rx;
        const y = cy + Math.sin(angle) * ry;
        image.fill(intersect(bone, ellipse(x, y, radius('erosion'), radius('erosion'))), 20);
      }
      return image.noise(noise, 5);
    });
  },
};
