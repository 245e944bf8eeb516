import { defineExperiment } from '../src/experiments/config.ts';
import quickstart from './quickstart.ts';

/**
 * Two-stage mode, the top RSNA pipelines' shortcut: the quickstart's trained CNN embeds every slice once, and the
 * sequence model (bidirectional GRU over slices → bidirectional LSTM label decoder, ASL) trains on the cached
 * vectors, so an epoch costs a fraction of an end-to-end one and encoder/decoder/loss research iterates fast.
 *
 *   sliceseq run experiments/quickstart.ts        # stage 1, once (or `sliceseq quickstart`): runs/quickstart-seed0-fold0
 *   sliceseq extract experiments/quickstart.ts --from-run runs/quickstart-seed0-fold0   # → embeddings/quickstart-seed0-fold0
 *   sliceseq run experiments/two-stage-sequence.ts [--quick]
 *
 * (For flip TTA, extract with --tta and set `extract.tta: true` and the cache to embeddings/quickstart-seed0-fold0-tta.)
 * The runner re-derives the cache's fingerprint from `extract` below (the run's backbone weights, the quickstart's
 * preprocessing, the demo files) and refuses a cache that differs, e.g. after the quickstart is retrained. Seed
 * and split are the quickstart's, so its CNN never trained on this run's validation and test patients and
 * predictions-oof.csv stays out-of-fold for fitting thresholds and stacking (the runner checks this too).
 */
export default defineExperiment({
  name: 'two-stage-sequence',
  description: 'GRU → LSTM label decoder with ASL on slice embeddings cached from the quickstart run\'s CNN',
  // The quickstart's seed and split (out-of-fold, see above) and its sequence model, loss and optimizer: only the CNN is gone.
  seed: quickstart.seed,
  data: {
    dataset: quickstart.data.dataset,
    level: quickstart.data.level,
    maxSlices: quickstart.data.maxSlices,
    embeddings: {
      cache: 'embeddings/quickstart-seed0-fold0',
      extract: { experiment: 'experiments/quickstart.ts', fromRun: 'runs/quickstart-seed0-fold0' },
    },
  },
  split: quickstart.split,
  model: { encoder: quickstart.model.encoder, decoder: quickstart.model.decoder },
  loss: quickstart.loss,
  optimizer: quickstart.optimizer,
  schedule: quickstart.schedule,
  train: { ...quickstart.train, epochs: 12 },
  quick: { train: { epochs: 3 } },
});
