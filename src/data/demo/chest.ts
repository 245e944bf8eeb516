import { Rng } from '../../core/rng.ts';
import type { ManifestDemoKind } from './manifest-demo.ts';
import { below, ellipse, glow, intersect, Raster, segment, subtract, union, type Shape } from './raster.ts';

/**
 * Synthetic frontal chest X-rays with the 14 findings of NIH ChestX-ray14, each drawn as a simple shape with
 * its textbook look (bright = dense): an enlarged heart, a fluid level at a lung base, a black rim without lung
 * markings (pneumothorax), hyperlucent over-inflated lungs (emphysema), round masses and nodules, hazy or dense
 * opacities, lines and bands. About 40% of patients have no finding (the implicit "No Finding" label); the rest
 * have one to three. One view per patient by default.
 */
export const chestFindings = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;
export type ChestFinding = (typeof chestFindings)[number];
export const CHEST_NO_FINDING = 'No_Finding';

interface Lung {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** +1 for the lung on the image's right, −1 for the left: the lateral direction. */
  side: 1 | -1;
  /** The visible lung field. */
  shape: Shape;
}

interface Chest {
  size: number;
  lungs: [Lung, Lung];
  heart: { cx: number; cy: number; rx: number; ry: number };
}

/** A lung field: the ellipse minus what the heart covers (findings there hide behind the cardiac shadow). */
function makeLung(cx: number, cy: number, rx: number, ry: number, side: 1 | -1, heart: Shape): Lung {
  return { cx, cy, rx, ry, side, shape: subtract(ellipse(cx, cy, rx, ry), heart) };
}

/** A point inside a lung, in lung-relative coordinates (u, v in −1..1; v = 1 the base). */
function inLung(lung: Lung, u: number, v: number): [number, number] {
  return [lung.cx + u * lung.rx, lung.cy + v * lung.ry];
}

/** Draws the normal chest; Cardiomegaly and Emphysema change the anatomy itself (heart size, lung size and darkness). */
function paintAnatomy(image: Raster, rng: Rng, findings: ReadonlySet<ChestFinding>): Chest {
  const s = image.size;
  const jitter = () => rng.uniform(-0.015, 0.015) * s;
  const emphysema = findings.has('Emphysema');
  const lungScale = emphysema ? 1.12 : 1;
  const lungDrop = emphysema ? 0.03 * s : 0;
  const heartScale = findings.has('Cardiomegaly') ? [1.45, 1.3] : [1, 1];
  const heart = { cx: 0.56 * s + jitter(), cy: 0.64 * s + jitter(), rx: 0.12 * s * heartScale[0], ry: 0.1 * s * heartScale[1] };
  const heartShape = ellipse(heart.cx, heart.cy, heart.rx, heart.ry);
  const lungs: [Lung, Lung] = [
    makeLung(0.31 * s + jitter(), 0.46 * s + jitter() + lungDrop, 0.14 * s * rng.uniform(0.95, 1.05), 0.28 * s * lungScale, -1, heartShape),
    makeLung(0.69 * s + jitter(), 0.46 * s + jitter() + lungDrop, 0.13 * s * rng.uniform(0.95, 1.05), 0.27 * s * lungScale, 1, heartShape),
  ];

  image.fill(ellipse(0.5 * s, 0.55 * s, 0.47 * s, 0.48 * s), 135);
  const lungValue = emphysema ? 28 : 55;
  for (const lung of lungs) {
    image.fill(lung.shape, lungValue);
    // Vessel markings fanning out from the hilum.
    for (let k = 0; k < 4; k++) {
      const [x0, y0] = inLung(lung, -0.7 * lung.side, 0);
      const [x1, y1] = inLung(lung, rng.uniform(-0.2, 0.8) * lung.side, rng.uniform(-0.7, 0.7));
      image.fill(intersect(lung.shape, segment(x0, y0, x1, y1, 0.4)), lungValue + 18);
    }
  }
  image.fill(segment(0.5 * s, 0.06 * s, 0.5 * s, 0.34 * s, 0.02 * s), 70); // trachea
  image.fill(heartShape, 170);
  image.fill(segment(0.14 * s, 0.14 * s, 0.44 * s, 0.2 * s, 0.015 * s), 205); // clavicles
  image.fill(segment(0.86 * s, 0.14 * s, 0.56 * s, 0.2 * s, 0.015 * s), 205);
  return { size: s, lungs, heart };
}

type Painter = (image: Raster, chest: Chest, rng: Rng) => void;

const pickLung = (chest: Chest, rng: Rng): Lung => chest.lungs[rng.int(2)];

/** How each finding other than the two anatomical ones looks, drawn into a normal chest. */
const painters: Record<Exclude<ChestFinding, 'Cardiomegaly' | 'Emphysema'>, Painter> = {
  // A plate-like horizontal band in a lower zone.
  Atelectasis: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const v = rng.uniform(0.3, 0.5);
    const [x0, y0] = inLung(lung, -0.8, v);
    const [x1, y1] = inLung(lung, 0.8, v + rng.uniform(-0.1, 0.1));
    image.fill(intersect(lung.shape, segment(x0, y0, x1, y1, 0.02 * chest.size)), 135);
  },
  // Fluid filling a lung base up to a level.
  Effusion: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    image.fill(intersect(lung.shape, below(lung.cy + lung.ry * rng.uniform(0.4, 0.6))), 150);
  },
  // Scattered faint patches across one lung.
  Infiltration: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const patches = Array.from({ length: 6 }, () => glow(...inLung(lung, rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6)), 0.025 * chest.size));
    image.shade(intersect(lung.shape, union(...patches)), 45);
  },
  Mass: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const radius = rng.uniform(0.06, 0.075) * chest.size;
    image.fill(ellipse(...inLung(lung, rng.uniform(-0.35, 0.35), rng.uniform(-0.4, 0.3)), radius, radius * rng.uniform(0.85, 1)), 170);
  },
  Nodule: (image, chest, rng) => {
    for (let k = 1 + rng.int(2); k > 0; k--) {
      const radius = Math.max(0.9, rng.uniform(0.02, 0.025) * chest.size);
      image.fill(ellipse(...inLung(pickLung(chest, rng), rng.uniform(-0.5, 0.5), rng.uniform(-0.6, 0.5)), radius, radius), 180);
    }
  },
  // A hazy opacity in a mid or lower zone.
  Pneumonia: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    image.shade(intersect(lung.shape, glow(...inLung(lung, rng.uniform(-0.3, 0.3), rng.uniform(0, 0.5)), 0.07 * chest.size)), 65);
  },
  // Air outside the collapsed lung: a black lateral and apical rim with no markings.
  Pneumothorax: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const collapsed = ellipse(lung.cx - lung.side * lung.rx * 0.3, lung.cy + lung.ry * 0.15, lung.rx * rng.uniform(0.6, 0.7), lung.ry * 0.8);
    image.fill(subtract(lung.shape, collapsed), 8);
  },
  // A dense, sharply bounded opacity with dark air bronchograms inside.
  Consolidation: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const [x, y] = inLung(lung, rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.4));
    const radius = rng.uniform(0.08, 0.1) * chest.size;
    const region = intersect(lung.shape, ellipse(x, y, radius, radius * 1.2));
    image.fill(region, 160);
    image.fill(intersect(region, segment(x - radius * 0.6, y - radius * 0.5, x + radius * 0.3, y + radius * 0.6, 0.45)), 75);
  },
  // Bilateral haze around both hila ("bat wing").
  Edema: (image, chest, rng) => {
    const radius = rng.uniform(0.08, 0.1) * chest.size;
    for (const lung of chest.lungs) image.shade(intersect(lung.shape, glow(...inLung(lung, -0.6 * lung.side, rng.uniform(-0.1, 0.2)), radius)), 50);
  },
  // A net of fine lines in both lower zones.
  Fibrosis: (image, chest, rng) => {
    const spacing = rng.uniform(0.045, 0.055) * chest.size;
    for (const lung of chest.lungs) {
      const zone = intersect(lung.shape, below(lung.cy + lung.ry * 0.1));
      const lines: Shape[] = [];
      for (let offset = -lung.rx; offset <= lung.rx; offset += spacing) {
        lines.push(segment(lung.cx + offset, lung.cy, lung.cx + offset + spacing, lung.cy + lung.ry, 0.45));
        lines.push(segment(lung.cx - lung.rx, lung.cy + lung.ry * 0.2 + (offset + lung.rx) / 2, lung.cx + lung.rx, lung.cy + lung.ry * 0.25 + (offset + lung.rx) / 2, 0.45));
      }
      image.fill(intersect(zone, union(...lines)), 120);
    }
  },
  // A bright band along the lateral chest wall.
  Pleural_Thickening: (image, chest, rng) => {
    const lung = pickLung(chest, rng);
    const thickness = rng.uniform(0.025, 0.035) * chest.size;
    const rim = subtract(lung.shape, ellipse(lung.cx - lung.side * thickness, lung.cy, lung.rx - thickness, lung.ry));
    const lateral: Shape = (x) => ((x - lung.cx) * lung.side > 0 ? 1 : 0);
    image.fill(intersect(rim, lateral), 150);
  },
  // A hiatal hernia: a round density behind the heart with a dark gas cap.
  Hernia: (image, chest, rng) => {
    const radius = rng.uniform(0.055, 0.065) * chest.size;
    const x = chest.heart.cx - rng.uniform(0.02, 0.05) * chest.size;
    const y = chest.heart.cy + chest.heart.ry * 0.3;
    image.fill(ellipse(x, y, radius, radius), 215);
    image.fill(subtract(ellipse(x, y, radius * 0.75, radius * 0.75), below(y)), 35);
  },
};

export const chestDemo: ManifestDemoKind<ChestFinding[]> = {
  name: 'chest',
  description: 'frontal chest X-ray phantom: the 14 ChestX-ray14 findings drawn as simple shapes',
  labels: { groups: [{ kind: 'binary', name: 'findings', classes: [...chestFindings] }], noFinding: CHEST_NO_FINDING },
  defaults: { size: 64, slices: 1 },

  drawLabels: (rng) => {
    if (rng.bernoulli(0.4)) return [];
    const pick = rng.float();
    const count = pick < 0.55 ? 1 : pick < 0.85 ? 2 : 3;
    const chosen = new Set(rng.shuffle([...chestFindings]).slice(0, count));
    return chestFindings.filter((finding) => chosen.has(finding));
  },

  cells: (findings) => Object.fromEntries(chestFindings.map((finding) => [finding, findings.includes(finding) ? '1' : '0'])),

  render: (findings, seed, { size, slices }) => {
    const present = new Set(findings);
    const noise = Rng.derive(seed, 'noise');
    // Views of one patient differ in positioning (their own anatomy stream) but show the same findings.
    return Array.from({ length: slices }, (_, view) => {
      const image = new Raster(size, 15);
      const chest = paintAnatomy(image, Rng.derive(seed, 'anatomy', view), present);
      for (const finding of chestFindings) {
        if (finding === 'Cardiomegaly' || finding === 'Emphysema' || !present.has(finding)) continue;
        painters[finding](image, chest, Rng.derive(seed, 'finding', finding, view));
      }
      return image.noise(noise, 6);
    });
  },
};
