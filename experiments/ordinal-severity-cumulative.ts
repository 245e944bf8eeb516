import { ordinalSeverity } from './ordinal-severity.ts';

/** `experiments/ordinal-severity.ts` with cumulative logits (grade > 0, > 1, > 2 per damage type) instead of regression. */
export default ordinalSeverity('cumulative');
