import { defineAblation } from '../src/experiments/ablation.ts';
import quickstart from './quickstart.ts';

/**
 * Which parts of the reference design (CNN → GRU over slices → LSTM label decoder) carry their weight: the label
 * decoder (LSTM, GRU, or a plain linear layer) crossed with the slice encoder (GRU, LSTM, or none: each slice
 * on its own, max pooling for patient-level labels), every other setting as in the quickstart experiment.
 * Variants are named `<encoder>-<decoder>`; each is compared with the reference `gru-lstm` on the same test
 * patients. Every component is given whole, so all variants share the same sizes.
 *
 *   sliceseq ablate experiments/ablation-lstm-vs-gru.ts --jobs 2
 *   sliceseq ablate experiments/ablation-lstm-vs-gru.ts --quick --data <tiny demo data>
 */
const encoders = {
  gru: { name: 'gru', hidden: 64, bidirectional: true },
  lstm: { name: 'lstm', hidden: 64, bidirectional: true },
  none: { name: 'none', pooling: 'max' },
};

const decoders = {
  lstm: { name: 'lstm', hidden: 32, bidirectional: true, inputs: 'zeros' },
  gru: { name: 'gru', hidden: 32, bidirectional: true, inputs: 'zeros' },
  dense: { name: 'dense' },
};

const variants = Object.fromEntries(
  Object.entries(encoders).flatMap(([encoderName, encoder]) =>
    Object.entries(decoders).map(([decoderName, decoder]) => [`${encoderName}-${decoderName}`, { model: { encoder, decoder } }]),
  ),
);

export default defineAblation({
  name: 'ablation-lstm-vs-gru',
  description: 'label decoder (LSTM / GRU / dense) × slice encoder (GRU / LSTM / none) on the quickstart experiment',
  base: quickstart,
  variants,
  reference: 'gru-lstm',
  seeds: 3,
  folds: 1,
  // Quick (smoke tests, CI): one seed, and on top of the quickstart's quick size (2 epochs, 8 slices) a narrower CNN.
  quick: { seeds: 1, experiment: { model: { backbone: { channels: [8, 16, 32] } } } },
});
