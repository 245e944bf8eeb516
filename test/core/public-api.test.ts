import { describe, expect, it } from 'vitest';
import * as sliceseq from 'sliceseq';

describe("the package entry ('sliceseq')", () => {
  it('exports every registry, populated, and the runner', () => {
    expect(sliceseq.backbones.names()).toEqual(expect.arrayContaining(['vgg16', 'small-vgg', 'resnet18']));
    expect(sliceseq.encoders.names()).toEqual(expect.arrayContaining(['gru', 'lstm', 'none']));
    expect(sliceseq.decoders.names()).toEqual(expect.arrayContaining(['lstm', 'gru', 'dense', 'query']));
    expect(sliceseq.heads.names()).toEqual(expect.arrayContaining(['binary', 'categorical', 'ordinal']));
    expect(sliceseq.losses.names()).toEqual(expect.arrayContaining(['asl', 'focal', 'bce', 'categorical-ce', 'mse', 'mae', 'cumulative-bce']));
    expect(sliceseq.metrics.names()).toEqual(expect.arrayContaining(['f2', 'auc', 'average_precision', 'logloss', 'wlogloss', 'qwk']));
    expect(sliceseq.datasets.names()).toEqual(expect.arrayContaining(['rsna-ich', 'manifest', 'folders']));
    expect(sliceseq.transforms.names()).toEqual(expect.arrayContaining(['window', 'clahe', 'resize', 'flip', 'rotate', 'zoom', 'jitter']));
    expect(sliceseq.optimizers.names()).toEqual(expect.arrayContaining(['adam', 'sgd', 'rmsprop']));
    expect(sliceseq.schedules.names()).toEqual(expect.arrayContaining(['constant', 'cosine', 'step', 'plateau']));
    expect(typeof sliceseq.runExperiment).toBe('function');
    expect(typeof sliceseq.buildModel).toBe('function');
    for (const name of ['runAblation', 'runCrossValidation', 'predictEnsemble', 'runPredictJob', 'summarizeCrossValidation', 'writeAblationSummary', 'extractEmbeddings', 'writeRunReport', 'writeAblationReport', 'readNpy', 'inspectWeights', 'convertWeights', 'openWeights', 'classAttention', 'collectClassAttention', 'readAttention'] as const) {
      expect(typeof sliceseq[name], name).toBe('function');
    }
    expect(typeof sliceseq.EmbeddingLoader).toBe('function');
    expect(sliceseq.denseModels.names()).toEqual(['unet']);
    expect(sliceseq.transforms.names()).toContain('rescale');
    expect(typeof sliceseq.buildDenseCriterion).toBe('function');
    expect(typeof sliceseq.readDenseExamples).toBe('function');
    for (const name of ['PredictionTable', 'taskFor', 'LabelTask', 'DenseMapTask', 'infer', 'readRunModel', 'readRunModelMetadata', 'hasRunModel', 'scoreSplit', 'scoreAt'] as const) {
      expect(typeof sliceseq[name], name).toBe('function');
    }
    expect(sliceseq.metricKeys.f2Samples.path).toBe('f2.samples');
  });
});
