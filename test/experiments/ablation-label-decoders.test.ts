import { describe, expect, it } from 'vitest';
import labelDecoders from '../../experiments/ablation-label-decoders.ts';
import quickstart from '../../experiments/quickstart.ts';
import { parseAblation, planAblation, trialExperiment } from '../../src/experiments/ablation.ts';
import { parseExperiment } from '../../src/experiments/config.ts';
import { resolveExperiment } from '../../src/experiments/run.ts';
import { decoders } from '../../src/models/decoders/index.ts';

describe('the label-decoder ablation', () => {
  const ablation = parseAblation(labelDecoders);

  it('compares the recurrent decoders (zero and learned inputs), dense and the class queries with the reference LSTM decoder', () => {
    const plan = planAblation(ablation);
    expect(plan.variants.map((v) => v.name)).toEqual(['lstm', 'gru', 'lstm-learned', 'gru-learned', 'dense', 'query', 'query-self']);
    expect(plan.reference).toBe('lstm');
    expect(plan.trials).toHaveLength(7 * 3);
    const decoderOf = (variant: string) => parseExperiment(trialExperiment(plan, plan.trials.find((t) => t.variant === variant)!)).model.decoder;
    // The reference is the quickstart's decoder exactly (zero inputs); the others differ in the decoder only.
    expect(decoderOf('lstm')).toEqual(parseExperiment(quickstart).model.decoder);
    expect(decoderOf('gru-learned')).toEqual({ name: 'gru', hidden: 32, bidirectional: true, inputs: 'learned' });
    expect(decoderOf('query-self')).toMatchObject({ name: 'query', selfAttention: true });
    for (const trial of plan.trials) {
      const experiment = resolveExperiment(trialExperiment(plan, trial), {});
      expect(experiment.data.level).toBe('patient');
      expect(experiment.model.encoder).toMatchObject({ name: 'gru', hidden: 64, bidirectional: true, pooling: 'max' });
      expect(experiment.model.backbone).toMatchObject(quickstart.model.backbone as object);
      const { name, ...options } = experiment.model.decoder!;
      expect(() => decoders.resolve(name, options)).not.toThrow();
    }
  });

  it('--quick: one seed, 12 epochs (patient-level labels leave the plateau later), a narrower CNN', () => {
    const plan = planAblation(ablation, { quick: true });
    expect(plan.trials).toHaveLength(7);
    const experiment = parseExperiment(trialExperiment(plan, plan.trials[5]));
    expect(experiment.train.epochs).toBe(12);
    expect(experiment.data.maxSlices).toBe(8);
    expect(experiment.model.backbone).toMatchObject({ channels: [8, 16, 32] });
  });
});
