import { recurrentEncoder } from './recurrent-encoder.ts';

/** The reference design's slice encoder: a (bidirectional) GRU over the slices of each patient. */
export const gruEncoder = recurrentEncoder('gru', 'GRU over slices (masked; bidirectional option), final state or masked pooling per patient');
