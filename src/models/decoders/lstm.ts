import { recurrentDecoder } from './recurrent-decoder.ts';

/** The reference design's label decoder. */
export const lstmDecoder = recurrentDecoder(
  'lstm',
  'bidirectional LSTM seeded with the patient feature (hidden = Linear(feature), cell 0), one step per class, shared Linear(2h -> 1)',
);
