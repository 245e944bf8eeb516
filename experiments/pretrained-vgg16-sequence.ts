import { defineExperiment } from '../src/experiments/config.ts';
import stageOne from './pretrained-vgg16.ts';

/**
 * Two-stage mode from imported weights: the ImageNet VGG16 of experiments/pretrained-vgg16.ts embeds every slice
 * once (512 features), and the sequence model (BiGRU over slices → BiLSTM label decoder, ASL) trains on the
 * cached vectors. Nothing of the CNN is trained, so no patient leaks into the embeddings.
 *
 *   sliceseq extract experiments/pretrained-vgg16.ts --cache embeddings/pretrained-vgg16   # stage 1
 *   sliceseq run experiments/pretrained-vgg16-sequence.ts                                  # stage 2
 *
 * The runner re-derives the cache's fingerprint from `extract` (the weights, the windows and size, the data
 * files) and refuses a cache made with other weights or preprocessing.
 */
export default defineExperiment({
  name: 'pretrained-vgg16-sequence',
  description: 'BiGRU → BiLSTM label decoder with ASL on slice embeddings of an ImageNet VGG16 (Keras weights)',
  seed: stageOne.seed,
  data: {
    dataset: stageOne.data.dataset,
    level: stageOne.data.level,
    maxSlices: stageOne.data.maxSlices,
    embeddings: { cache: 'embeddings/pretrained-vgg16', extract: { experiment: 'experiments/pretrained-vgg16.ts' } },
  },
  split: stageOne.split,
  model: { encoder: { name: 'gru', hidden: 64, bidirectional: true, dropout: 0.2 }, decoder: stageOne.model.decoder },
  loss: stageOne.loss,
  optimizer: { name: 'adam', lr: 1e-3 },
  schedule: stageOne.schedule,
  train: { ...stageOne.train, epochs: 12, batchSize: 4 },
  quick: { model: { encoder: { hidden: 16 }, decoder: { hidden: 8 } }, train: { epochs: 2 } },
});
