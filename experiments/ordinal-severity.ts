import { defineExperiment, type ExperimentInput } from '../src/experiments/config.ts';

/**
 * Ordinal labels: four damage types (effusion, cartilage, edema, erosion), each graded 0 (none) to 3 (severe).
 * `regression` (the default export): one output per type trained with MSE against the grade, read as a grade by
 * the thresholds 0.5 / 1.5 / 2.5. `cumulative`: three logits per type, logit k for "grade > k", trained with
 * binary cross-entropy on each (`experiments/ordinal-severity-cumulative.ts`). Both report exact grade accuracy,
 * grade MAE and quadratic weighted kappa per type (metrics.json `groups.damage`); the mean QWK picks the best
 * epoch. Runs on the joint phantom: `sliceseq demo-data demo-data/ordinal --kind ordinal`.
 */
export function ordinalSeverity(mode: 'regression' | 'cumulative'): ExperimentInput {
  return defineExperiment({
    name: mode === 'regression' ? 'ordinal-severity' : 'ordinal-severity-cumulative',
    description: `4 damage types × grades 0-3 as ordinal ${mode === 'regression' ? 'regression (MSE, thresholds 0.5/1.5/2.5)' : 'cumulative logits (BCE per grade step)'}, best epoch by mean QWK`,
    seed: 0,
    data: {
      dataset: {
        name: 'manifest',
        root: 'demo-data/ordinal',
        csv: 'manifest.csv',
        orderColumn: 'slice',
        labels: {
          groups: [{ kind: 'ordinal', name: 'damage', classes: ['effusion', 'cartilage', 'edema', 'erosion'], levels: 4, mode, thresholds: [0.5, 1.5, 2.5] }],
        },
      },
      level: 'patient',
      // 8-bit PNG grey values → 0..1; no flips: each damage type has its own side of the joint.
      preprocess: [{ name: 'window', windows: [{ center: 127.5, width: 255 }] }],
    },
    split: { test: 0.2, folds: 5, fold: 0 },
    model: {
      backbone: { name: 'small-vgg', channels: [16, 32, 64], convsPerBlock: 1, batchNorm: true },
      encoder: { name: 'gru', hidden: 64, bidirectional: true, pooling: 'max' },
      // Only binary labels go through the label decoder; this schema has none, so it is configured but unused.
      decoder: { name: 'lstm', hidden: 32 },
      heads: { ordinal: { neck: 32 } },
    },
    loss: { groups: { damage: { loss: { name: mode === 'regression' ? 'mse' : 'cumulative-bce' }, weight: 1 } } },
    optimizer: { name: 'adam', lr: 2e-3 },
    schedule: { name: 'cosine', warmupEpochs: 1 },
    train: { epochs: 15, batchSize: 8, gradientClip: 5, monitor: 'qwk' },
    quick: { model: { backbone: { channels: [4, 8] }, encoder: { hidden: 8 }, heads: { ordinal: { neck: 8 } } }, train: { epochs: 1 } },
  });
}

export default ordinalSeverity('regression');
