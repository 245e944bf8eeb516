import { recurrentEncoder } from './recurrent-encoder.ts';

/** Ablation of the GRU encoder with an LSTM cell. */
export const lstmEncoder = recurrentEncoder('lstm', 'LSTM over slices (masked; bidirectional option), final state or masked pooling per patient');
