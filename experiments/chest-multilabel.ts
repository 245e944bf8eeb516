import { chestFindings } from '../src/data/demo/chest.ts';
import { defineExperiment } from '../src/experiments/config.ts';

/**
 * NIH ChestX-ray14 style multi-label classification: 14 independent findings per frontal X-ray, and "No Finding"
 * as the schema's implicit label (positive when every finding is negative; derived from the predictions, not
 * an output). Focal loss for the rare findings; macro ROC-AUC, the dataset's usual yardstick, picks the best
 * epoch. One view per patient: the slice encoder is `none` and several views, when present, are averaged.
 * Runs on the chest phantom: `sliceseq demo-data demo-data/chest --kind chest`, which draws the same 14 findings
 * (`chestFindings`: the ChestX-ray14 label names, underscores for spaces).
 */
export default defineExperiment({
  name: 'chest-multilabel',
  description: '14 ChestX-ray14 findings + implicit No Finding: CNN → LSTM label decoder, focal loss, best epoch by macro AUC',
  seed: 0,
  data: {
    dataset: {
      name: 'manifest',
      root: 'demo-data/chest',
      csv: 'manifest.csv',
      orderColumn: 'slice',
      labels: { groups: [{ kind: 'binary', name: 'findings', classes: [...chestFindings] }], noFinding: 'No_Finding' },
    },
    level: 'patient',
    // 8-bit PNG grey values → 0..1; a slight zoom as augmentation.
    preprocess: [{ name: 'window', windows: [{ center: 127.5, width: 255 }] }, { name: 'zoom', min: 0.95, max: 1.05 }],
  },
  split: { test: 0.2, folds: 5, fold: 0 },
  model: {
    backbone: { name: 'small-vgg', channels: [16, 32, 64, 64], convsPerBlock: 1, batchNorm: true },
    encoder: { name: 'none', pooling: 'mean' },
    decoder: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
  },
  loss: { groups: { findings: { loss: { name: 'focal', gamma: 2 }, weight: 1 } } },
  optimizer: { name: 'adam', lr: 2e-3 },
  schedule: { name: 'cosine', warmupEpochs: 1 },
  train: { epochs: 20, batchSize: 16, gradientClip: 5, monitor: 'auc_macro' },
  quick: { model: { backbone: { channels: [4, 8] }, decoder: { hidden: 4 } }, train: { epochs: 1 } },
});
