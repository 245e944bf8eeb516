import { defineExperiment, type ExperimentInput } from '../src/experiments/config.ts';

/**
 * Dense ordinal maps: four skin-damage types (erythema, scaling, crusting, lichenification), each graded 0-3 at
 * every pixel. `regression` (the default export): a U-Net with one output channel per type, trained with MAE
 * against the grade maps and read as grades by thresholds (0.5 / 1.5 / 2.5, or tuned per type on validation with
 * `--set evaluation.denseThresholds=tuned`). `joint`: the same U-Net with a softmax over the 4^4 = 256 joint
 * classes (`experiments/dense-ordinal-joint.ts`), the baseline that cannot predict a combination it never saw.
 * metrics.json holds pixel MAE, exact-grade accuracy, QWK, Dice per grade and the grade confusion per type, and
 * the same on the test pixels whose combination no training image shows (`test.unseen`).
 * Data: `sliceseq demo-data demo-data/dense-ordinal --kind dense-ordinal` (test images are the split column's).
 */
export function denseOrdinal(mode: 'regression' | 'joint'): ExperimentInput {
  return defineExperiment({
    name: mode === 'regression' ? 'dense-ordinal' : 'dense-ordinal-joint',
    description:
      mode === 'regression'
        ? 'U-Net, one regression map per damage type (MAE), graded by thresholds 0.5/1.5/2.5'
        : 'U-Net, softmax over the 256 joint classes of 4 damage types x 4 grades (baseline)',
    seed: 0,
    data: {
      dataset: {
        name: 'manifest',
        root: 'demo-data/dense-ordinal',
        csv: 'manifest.csv',
        orderColumn: 'slice',
        splitColumn: 'split',
        masks: {
          group: { kind: 'dense-ordinal', name: 'damage', classes: ['erythema', 'scaling', 'crusting', 'lichenification'], levels: 4, mode },
          columns: ['mask_erythema', 'mask_scaling', 'mask_crusting', 'mask_lichenification'],
        },
      },
      level: 'slice',
      // 8-bit RGB → 0..1, then random flips (exact, and the masks flip with the image). Rotations and zooms move the
      // masks too (nearest neighbour), but their bilinear resampling of the image blurs the fine damage textures.
      preprocess: [{ name: 'rescale' }, { name: 'flip', horizontal: 0.5, vertical: 0.5 }],
    },
    split: { folds: 5, fold: 0 },
    model: { dense: { name: 'unet', depth: 3, baseWidth: 16, batchNorm: true, upsample: 'transpose', skips: true } },
    optimizer: { name: 'adam', lr: 3e-3 },
    schedule: { name: 'cosine', warmupEpochs: 1 },
    train: { epochs: 20, batchSize: 8, gradientClip: 5, monitor: 'qwk' },
    quick: { model: { dense: { depth: 2, baseWidth: 4, convsPerBlock: 1 } }, train: { epochs: 1 } },
  });
}

export default denseOrdinal('regression');
