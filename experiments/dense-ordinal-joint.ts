import { denseOrdinal } from './dense-ordinal.ts';

/** `experiments/dense-ordinal.ts` with a softmax over the 256 joint classes instead of one regression map per type: the baseline. */
export default denseOrdinal('joint');
