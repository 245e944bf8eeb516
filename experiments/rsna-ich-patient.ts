import { deepMerge, defineExperiment, type ExperimentInput } from '../src/experiments/config.ts';
import sliceLevel from './rsna-ich.ts';

/**
 * `experiments/rsna-ich.ts` with one label row per patient (does this scan show a hemorrhage, and of which
 * kinds?) instead of one per slice: the GRU's outputs are max-pooled over the slices, so a lesion seen on any
 * slice reaches the patient feature that seeds the label decoder. Everything else, `--quick` included, is the
 * slice-level experiment's.
 */
const patientLevel = deepMerge(sliceLevel, { data: { level: 'patient' }, model: { encoder: { pooling: 'max' } } }) as ExperimentInput;

export default defineExperiment({
  ...patientLevel,
  name: 'rsna-ich-patient',
  description: 'RSNA ICH, patient level: 3 CT windows at 224 px → VGG16 → BiGRU max-pooled over slices → BiLSTM label decoder, ASL, mean F2',
});
