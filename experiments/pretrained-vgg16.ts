import { defineExperiment } from '../src/experiments/config.ts';

/**
 * VGG16 with ImageNet weights from Keras (the applications' notop file), as the ChestX-ray14 and brain-CT
 * references start their per-slice CNN. The three CT windows (brain, subdural, bone; each 0..1) stand in for
 * R, G, B; the weights' 'caffe' normalisation (×255, RGB → BGR, minus the ImageNet mean) is applied inside the
 * backbone and recorded in the run's environment.json.
 *
 *   # on a networked machine, once: python3 -c "import keras; keras.applications.VGG16(include_top=False)"
 *   #   → ~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5; copy it to models/
 *   sliceseq extract experiments/pretrained-vgg16.ts --cache embeddings/pretrained-vgg16   # two-stage, stage 1
 *   sliceseq run experiments/pretrained-vgg16-sequence.ts                                  # stage 2
 *   sliceseq run experiments/pretrained-vgg16.ts       # or fine-tune end to end (blocks 1-3 frozen, backbone lr × 0.1)
 *
 * Other files: --set model.backbone.weights=path/to/file (.h5, .keras, torchvision's vgg16 as .safetensors,
 * or a folder from `sliceseq weights convert`). `--quick` keeps the full VGG16 at 32 px.
 */
const preprocess = (size: number) => [
  { name: 'window', windows: ['brain', 'subdural', 'bone'] },
  { name: 'resize', size },
];

export default defineExperiment({
  name: 'pretrained-vgg16',
  description: 'RSNA ICH, slice level: 3 CT windows → ImageNet VGG16 (Keras .h5, caffe normalisation) → BiGRU → BiLSTM label decoder, ASL',
  seed: 0,
  data: {
    dataset: { name: 'rsna-ich', root: 'demo-data' },
    level: 'slice',
    preprocess: preprocess(112),
    maxSlices: 16,
  },
  split: { test: 0.2, folds: 5, fold: 0 },
  model: {
    backbone: { name: 'vgg16', weights: 'models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5', freeze: 3 },
    encoder: { name: 'gru', hidden: 64, bidirectional: true, dropout: 0.2 },
    decoder: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
  },
  loss: { groups: { labels: { loss: { name: 'asl', gamma_neg: 4, gamma_pos: 1, clip: 0.05 }, weight: 1 } } },
  // The sequence model learns at 1e-3, the unfrozen VGG16 blocks at a tenth of it.
  optimizer: { name: 'adam', lr: 1e-3, groups: { backbone: { lrMultiplier: 0.1 } } },
  schedule: { name: 'cosine', warmupEpochs: 1 },
  train: { epochs: 6, batchSize: 2, gradientClip: 5, monitor: 'f2_samples' },
  quick: {
    data: { preprocess: preprocess(32), maxSlices: 4 },
    model: { encoder: { hidden: 16 }, decoder: { hidden: 8 } },
    train: { epochs: 1, batchSize: 4 },
  },
});
