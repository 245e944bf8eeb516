import { recurrentDecoder } from './recurrent-decoder.ts';

/** The label decoder with a GRU cell (hidden state only). */
export const gruDecoder = recurrentDecoder('gru', 'bidirectional GRU seeded with the patient feature, one step per class, shared Linear(2h -> 1)');
