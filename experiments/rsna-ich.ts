import { defineExperiment } from '../src/experiments/config.ts';

/**
 * The RSNA Intracranial Hemorrhage Detection setting at full size: every CT slice as three windows (brain,
 * subdural, bone) stacked like RGB and resized to 224 px, a VGG16 per slice, a bidirectional GRU over the
 * patient's slices (each slice sees its neighbours), and the bidirectional LSTM label decoder emitting the five
 * subtypes and `any` for every slice; asymmetric loss; the best epoch picked by mean F2. Labels are per slice, as
 * the competition scored them. `experiments/rsna-ich-patient.ts` is the patient-level variant.
 *
 *   sliceseq demo-data demo-data                          # or point --data at the Kaggle download
 *   sliceseq run experiments/rsna-ich.ts --data demo-data
 *   sliceseq run experiments/rsna-ich.ts --set model.backbone.weights=models/vgg16-imagenet \
 *     --set model.backbone.batchNorm=false --set optimizer.lr=0.0001      # fine-tune ImageNet weights
 *
 * VGG16 at 224 px wants a GPU backend (`--backend tensorflow`); `--quick` keeps VGG16 but at 32 px and an eighth
 * of its width, for smoke tests.
 */
const preprocess = (size: number) => [
  { name: 'window', windows: ['brain', 'subdural', 'bone'] },
  { name: 'resize', size },
  { name: 'flip', horizontal: 0.5 },
];

export default defineExperiment({
  name: 'rsna-ich',
  description: 'RSNA ICH, slice level: 3 CT windows at 224 px → VGG16 → BiGRU over slices → BiLSTM label decoder, ASL, mean F2',
  seed: 0,
  data: {
    dataset: { name: 'rsna-ich', root: 'demo-data' },
    level: 'slice',
    preprocess: preprocess(224),
    maxSlices: 24,
  },
  split: { test: 0.2, folds: 5, fold: 0 },
  model: {
    // Batch norm lets VGG16 train from random weights; ImageNet weights (`weights`) come without it.
    backbone: { name: 'vgg16', batchNorm: true },
    encoder: { name: 'gru', hidden: 128, bidirectional: true, dropout: 0.2 },
    decoder: { name: 'lstm', hidden: 64, bidirectional: true, inputs: 'zeros' },
  },
  loss: { groups: { labels: { loss: { name: 'asl', gamma_neg: 4, gamma_pos: 1, clip: 0.05 }, weight: 1 } } },
  // From random weights (batch norm on); with ImageNet weights fine-tune at 1e-4.
  optimizer: { name: 'adam', lr: 1e-3 },
  schedule: { name: 'cosine', warmupEpochs: 1 },
  train: { epochs: 10, batchSize: 2, gradientClip: 5, monitor: 'f2_samples' },
  quick: {
    data: { preprocess: preprocess(32), maxSlices: 4 },
    model: { backbone: { widthMultiplier: 0.125 }, encoder: { hidden: 16 }, decoder: { hidden: 8 } },
    train: { epochs: 1, batchSize: 4 },
  },
});
