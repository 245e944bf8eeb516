import { defineExperiment } from '../src/experiments/config.ts';

/**
 * The reference design on the built-in demo data: a small per-slice CNN (VGG-style, 16/32/64) over each
 * patient's CT slices (brain/subdural/bone windows as 3 channels), a bidirectional GRU over the slices, and the
 * bidirectional LSTM label decoder seeded with each slice's GRU feature; asymmetric loss; the best epoch picked
 * by mean F2. Labels are per slice, as the RSNA competition scored them: every slice is predicted with its
 * neighbours' context. (Patient-level labels give the CNN one label per volume; on this small demo set it sits
 * on a plateau for ~6 epochs before it finds the lesions; `--set data.level=patient` runs that variant.)
 */
export default defineExperiment({
  name: 'quickstart',
  description: 'CNN → GRU → LSTM label decoder with ASL on the demo head-CT phantom (slice-level labels)',
  seed: 0,
  data: {
    dataset: { name: 'rsna-ich', root: 'demo-data' },
    level: 'slice',
    preprocess: [
      { name: 'window', windows: ['brain', 'subdural', 'bone'] },
      { name: 'flip', horizontal: 0.5 },
    ],
    maxSlices: 16,
  },
  split: { test: 0.2, folds: 5, fold: 0 },
  model: {
    backbone: { name: 'small-vgg', channels: [16, 32, 64], convsPerBlock: 1, batchNorm: true },
    encoder: { name: 'gru', hidden: 64, bidirectional: true },
    decoder: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
  },
  loss: { groups: { labels: { loss: { name: 'asl', gamma_neg: 4, gamma_pos: 1, clip: 0.05 }, weight: 1 } } },
  optimizer: { name: 'adam', lr: 2e-3 },
  schedule: { name: 'cosine', warmupEpochs: 1 },
  train: { epochs: 8, batchSize: 4, gradientClip: 5, monitor: 'f2_samples' },
  quick: { train: { epochs: 2 }, data: { maxSlices: 8 } },
});
