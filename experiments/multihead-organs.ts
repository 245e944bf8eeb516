import { defineExperiment } from '../src/experiments/config.ts';

/**
 * Several heads on one model, as in the RSNA 2023 Abdominal Trauma Detection competition: binary injury signs
 * (bowel injury, active extravasation) scored with a sigmoid each through the LSTM label decoder, and for liver,
 * spleen and kidney a softmax over healthy / low / high-grade injury, each organ with its own Dense(32, SiLU)
 * neck and label smoothing 0.05. Each head has its own loss and weight in the total. Runs on the abdominal
 * phantom (`sliceseq demo-data demo-data/organs --kind organs`), grey PNG slices listed in a manifest CSV.
 * Per-group numbers (ROC-AUC and accuracy per organ) land in metrics.json under `groups`; the validation loss,
 * like the competition's weighted log loss, picks the best epoch.
 */
const organ = (name: string) => ({ kind: 'categorical' as const, name, classes: ['healthy', 'low', 'high'], neck: 32, labelSmoothing: 0.05 });

export default defineExperiment({
  name: 'multihead-organs',
  description: 'binary injury signs (sigmoid) + liver/spleen/kidney healthy/low/high (softmax, own necks), a weighted loss per head',
  seed: 0,
  data: {
    dataset: {
      name: 'manifest',
      root: 'demo-data/organs',
      csv: 'manifest.csv',
      orderColumn: 'slice',
      labels: {
        groups: [{ kind: 'binary', name: 'signs', classes: ['bowel_injury', 'extravasation'] }, organ('liver'), organ('spleen'), organ('kidney')],
      },
    },
    level: 'patient',
    // 8-bit PNG grey values → 0..1.
    preprocess: [{ name: 'window', windows: [{ center: 127.5, width: 255 }] }, { name: 'flip', horizontal: 0.5 }],
  },
  split: { test: 0.2, folds: 5, fold: 0 },
  model: {
    backbone: { name: 'small-vgg', channels: [16, 32, 64], convsPerBlock: 1, batchNorm: true },
    encoder: { name: 'gru', hidden: 64, bidirectional: true, pooling: 'max' },
    decoder: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
  },
  loss: {
    groups: {
      // The signs are rarer and a missed one costs most: twice the weight.
      signs: { loss: { name: 'bce' }, weight: 2 },
      // Naming the group's default loss keeps its label smoothing (0.05, from the schema above).
      liver: { loss: { name: 'categorical-ce' }, weight: 1 },
      spleen: { loss: { name: 'categorical-ce' }, weight: 1 },
      kidney: { loss: { name: 'categorical-ce' }, weight: 1 },
    },
  },
  optimizer: { name: 'adam', lr: 2e-3 },
  schedule: { name: 'cosine', warmupEpochs: 1 },
  train: { epochs: 15, batchSize: 8, gradientClip: 5, monitor: 'loss' },
  quick: { model: { backbone: { channels: [4, 8] }, encoder: { hidden: 8 }, decoder: { hidden: 4 } }, train: { epochs: 1 } },
});
