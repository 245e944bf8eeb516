import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { createLoss } from '../../src/losses/registry.ts';
import type { LossConfig } from '../../src/losses/types.ts';
import { useBackend } from '../helpers/backend.ts';
import { valueAndGrad } from './inputs.ts';

/** Written by scripts/make-loss-fixtures.py: torch float64 references (values and gradients w.r.t. logits). */
interface FixtureCase {
  name: string;
  config: LossConfig;
  shape: number[];
  logits: number[];
  targets: number[];
  targetsShape?: number[];
  weights: number[] | null;
  weightsShape: number[] | null;
  value: number | null;
  grad: Array<number | null>;
  /** asl only: the same formula with stable pieces, for entries where the naive reference is not finite. */
  stableValue?: number;
  stableGrad?: number[];
}

const fixtureDir = fileURLToPath(new URL('../fixtures/losses/', import.meta.url));
const fixtures = readdirSync(fixtureDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(fixtureDir + file, 'utf8')) as { loss: string; cases: FixtureCase[] });

const rtol = 1e-5;

/** |ours - reference| within 1e-5 relative; the absolute floor (scaled to the case) covers entries near 0. */
function expectClose(ours: number, reference: number, scale: number, what: string): void {
  const tolerance = rtol * Math.abs(reference) + 1e-7 * Math.max(1, scale);
  expect(Math.abs(ours - reference), `${what}: ours ${ours}, reference ${reference}`).toBeLessThanOrEqual(tolerance);
}

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useBackend();
});

test('fixtures cover every loss', () => {
  expect(fixtures.map((f) => f.loss).sort()).toEqual(['asl', 'bce', 'categorical-ce', 'cumulative-bce', 'focal', 'mae', 'mse']);
});

for (const fixture of fixtures) {
  describe(`${fixture.loss} matches the torch float64 reference`, () => {
    for (const c of fixture.cases) {
      test(c.name, () => {
        const before = tf.memory().numTensors;
        const loss = createLoss(c.config);
        const logits = tf.tensor(c.logits, c.shape);
        const targets = tf.tensor(c.targets, c.targetsShape ?? c.shape);
        const weights = c.weights ? tf.tensor(c.weights, c.weightsShape ?? undefined) : undefined;
        const { value, grad } = valueAndGrad((x) => loss.compute(x, targets, weights), logits);
        tf.dispose([logits, targets, ...(weights ? [weights] : [])]);
        expect(tf.memory().numTensors).toBe(before);

        expect(Number.isFinite(value)).toBe(true);
        expect(grad.every(Number.isFinite)).toBe(true);
        const referenceValue = c.value ?? c.stableValue!;
        expectClose(value, referenceValue, Math.abs(referenceValue), 'value');
        const referenceGrad = c.grad.map((g, i) => g ?? c.stableGrad![i]);
        const gradScale = Math.max(...referenceGrad.map(Math.abs));
        referenceGrad.forEach((g, i) => expectClose(grad[i], g, gradScale, `grad[${i}]`));
      });
    }
  });
}

test('the asl fixtures include cases where the naive reference is not finite, and ours is', () => {
  const asl = fixtures.find((f) => f.loss === 'asl')!;
  const nonFinite = asl.cases.filter((c) => c.value === null || c.grad.includes(null));
  expect(nonFinite.length).toBeGreaterThan(0);
});
