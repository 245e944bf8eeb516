import { deepMerge, type ExperimentInput } from '../src/experiments/config.ts';
import { defineAblation } from '../src/experiments/ablation.ts';
import quickstart from './quickstart.ts';

/**
 * Which label decoder to put on the slice sequence when labels belong to the patient (where the decoder has to
 * find the classes among all the slices): the reference bidirectional LSTM decoder seeded with the pooled patient
 * feature and fed zeros, the same with a GRU cell, each with learned step inputs instead of zeros, a plain linear
 * layer, and class queries attending to every slice (without and with self-attention among the queries). Every
 * other setting is the quickstart experiment's at patient level, with the GRU's outputs max-pooled over the
 * slices (the query decoders read the GRU's per-slice outputs instead). Each variant is compared with the
 * reference `lstm` on the same test patients.
 *
 *   sliceseq ablate experiments/ablation-label-decoders.ts --jobs 2
 *   sliceseq ablate experiments/ablation-label-decoders.ts --quick --seeds 3 --data <small demo data>
 */
const patientLevel = deepMerge(quickstart, { data: { level: 'patient' }, model: { encoder: { pooling: 'max' } } }) as ExperimentInput;

const recurrent = (cell: 'lstm' | 'gru', inputs: 'zeros' | 'learned') => ({ name: cell, hidden: 32, bidirectional: true, inputs });
const query = (selfAttention: boolean) => ({ name: 'query', width: 32, heads: 4, layers: 1, dropout: 0.1, selfAttention });

const decoders = {
  lstm: recurrent('lstm', 'zeros'),
  gru: recurrent('gru', 'zeros'),
  'lstm-learned': recurrent('lstm', 'learned'),
  'gru-learned': recurrent('gru', 'learned'),
  dense: { name: 'dense' },
  query: query(false),
  'query-self': query(true),
};

export default defineAblation({
  name: 'ablation-label-decoders',
  description: 'label decoder at patient level: LSTM / GRU (zero or learned step inputs) / dense / class queries (± self-attention)',
  base: { ...patientLevel, name: 'label-decoders' },
  variants: Object.fromEntries(Object.entries(decoders).map(([name, decoder]) => [name, { model: { decoder } }])),
  reference: 'lstm',
  seeds: 3,
  folds: 1,
  // Quick: one seed, the quickstart's quick size (8 slices) with a narrower CNN, and 12 epochs instead of 2: with one
  // label per patient the CNN needs several epochs to find the lesions at all (at 6, no variant's mean test AUC passed 0.67).
  quick: { seeds: 1, experiment: { model: { backbone: { channels: [8, 16, 32] } }, train: { epochs: 12 } } },
});
