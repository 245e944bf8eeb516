/**
 * sliceseq's public API, `import { ... } from 'sliceseq'`, grouped by concept: the foundation (backends, seeds,
 * logging, registries), labels, data, models, losses, training, evaluation (metrics, thresholds, submissions),
 * run directories, reports and experiments (runs, cross-validation, ablations, prediction, embeddings). Each
 * component family is a registry (`backbones.names()`, `backbones.list()`) that builds from `{ name, ...options }`.
 */

// Foundation: backends, registries, seeds, files, logging
export { initBackend, probeBackends, activeBackend, backendPreferences, type BackendChoice, type BackendPreference } from './backend/select.ts';
export { checkGradientParity } from './backend/gradient-parity.ts';
export { Registry } from './core/registry.ts';
export { Rng, hashSeed, type RngState } from './core/rng.ts';
export { writeFileAtomic, writeJsonAtomic } from './core/atomic.ts';
export { Progress } from './core/progress.ts';
export { log, setLogLevel } from './core/log.ts';

// Labels: schemas (binary, categorical, ordinal, dense-ordinal groups) and decoding model outputs
export * from './labels/schema.ts';
export { decodeLogits, decodedColumns } from './labels/decode.ts';
export {
  denseOrdinalGroupSchema,
  parseDenseOrdinalGroup,
  denseThresholds,
  denseOutputWidth,
  decodeDensePixel,
  jointIndex,
  jointGrades,
  type DenseOrdinalGroup,
  type DenseOrdinalGroupInput,
} from './labels/dense-ordinal.ts';

// Data: readers, transforms, datasets, patients, loaders, splits, caches, demo data
export { readSlices, readMeta, readDicom, readDicomMeta, readImage, readNifti, DataFileError } from './data/readers/index.ts';
export { inspectFile, formatFileReport } from './data/readers/inspect.ts';
export { transforms, namedWindows, applyWindows } from './data/transforms/index.ts';
export { buildPreprocess, Preprocess, type TransformConfig } from './data/preprocess.ts';
export { datasets, loadDataset, type DatasetConfig } from './data/datasets/registry.ts';
export type { Dataset } from './data/datasets/types.ts';
export type { Slice, SliceMeta } from './data/types.ts';
export { orderSlices, limitPatientSlices, sliceId, type Patient, type SliceRef } from './data/patients.ts';
export { PatientLoader, forEachBatch, type Batch, type BatchSource, type LoaderConfig } from './data/loader.ts';
export { defaultWorkers, closeDecodePools } from './data/decode-pool.ts';
export { EmbeddingLoader, EmbeddingCache } from './data/embedding-loader.ts';
export { readNpy, writeNpy, encodeNpy, decodeNpy } from './data/npy.ts';
export { kFold, holdout, splitItems } from './data/splits.ts';
export { inspectDataset, formatDatasetReport } from './data/inspect-dataset.ts';
export { writeDemoDataset, DEMO_LABELS } from './data/demo/dataset.ts';
export { manifestDemoKinds, demoKindNames } from './data/demo/kinds.ts';
export { writeDenseOrdinalDemo } from './data/demo/dense-ordinal.ts';

// Models: backbones, slice encoders, label decoders, heads, dense models, save/load, pretrained weights
export { backbones } from './models/backbones/index.ts';
export { encoders } from './models/encoders/index.ts';
export { decoders } from './models/decoders/index.ts';
export { heads } from './models/heads/index.ts';
export { denseModels, type DenseModelContext, type DenseNet } from './models/dense/index.ts';
export { buildModel, buildBackbone, modelMetadata, type ModelConfigInput } from './models/build.ts';
export { saveModel, loadModel, diskIOHandler } from './models/io.ts';
export { inspectWeights, formatInspection, convertWeights, type WeightsInspection } from './models/weights.ts';
export { openWeights, type WeightsOption } from './models/pretrained/open.ts';
export { normalizations, type Normalization } from './models/pretrained/normalization.ts';
export { buildReferenceBenchModel, referenceBenchConfig } from './models/reference.ts';
export { classAttention, queryDecoders, type ClassAttentionMap } from './models/attention-maps.ts';

// Losses
export { losses, createLoss } from './losses/registry.ts';
export { buildCriterion, type Criterion, type CriterionConfig } from './losses/criterion.ts';
export { buildDenseCriterion, defaultDenseLoss } from './losses/dense-criterion.ts';

// Training: optimizers, schedules, the loop, checkpoints, inference
export { optimizers, createOptimizer } from './train/optimizers.ts';
export { schedules, createSchedule } from './train/schedules.ts';
export { trainStep } from './train/step.ts';
export { fit } from './train/trainer.ts';
export { Checkpoints } from './train/checkpoint.ts';
export { infer, type InferredBatch } from './train/inference.ts';
export { predict, scorePredictions, tuneThresholds } from './train/evaluate.ts';
export { evaluateDense, scoreDense, seenCombinations, tuneDenseThresholds } from './train/dense-evaluate.ts';

// Evaluation: metrics (one registry, one scoring path), thresholds, intervals, curves, submissions
export { metrics, createMetric, metricContext } from './metrics/registry.ts';
export { matrix, fromRows, type Matrix, type ScoreMatrix, type LabelMatrix } from './metrics/matrix.ts';
export { PredictionTable, type PredictionTableInit, type LogitRows } from './metrics/prediction-table.ts';
export { fbetaScore, precisionScore, recallScore, precisionRecallFbetaPerClass } from './metrics/fbeta.ts';
export { rocAucScore, rocAucPerClass } from './metrics/roc-auc.ts';
export { averagePrecisionScore } from './metrics/average-precision.ts';
export { logLoss, rsnaWeightedLogLoss } from './metrics/log-loss.ts';
export { ordinalAccuracy, ordinalMae, quadraticWeightedKappa } from './metrics/ordinal.ts';
export { confusionMatrix, multilabelConfusion, categoricalConfusion } from './metrics/confusion.ts';
export { MetricAccumulator } from './metrics/accumulate.ts';
export { scoreSplit, type SummaryOptions } from './metrics/summary.ts';
export { metricKeys, metricKey, monitorChoices, scoreAt, splitScoresSchema, type MetricKey, type Monitor, type SplitScores } from './metrics/scores.ts';
export { DenseOrdinalAccumulator, tuneThresholdsForQwk, confusionFromHistograms } from './metrics/dense-ordinal.ts';
export { fitThresholds, applyThresholds, saveThresholds, loadThresholds, type ThresholdSet } from './metrics/thresholds.ts';
export { bootstrapInterval, pairedBootstrap } from './metrics/bootstrap.ts';
export { rocCurve, precisionRecallCurve, fbetaThresholdCurve } from './metrics/curves.ts';
export { meanConfidenceInterval } from './metrics/student-t.ts';
export { writeSubmission, longSubmission, wideSubmission, tagsSubmission, submissionText, rsnaPredictions, writeFormats, type WriteFormat } from './metrics/submission/write.ts';
export { scoreSubmission } from './metrics/submission/score.ts';

// Run directories: their layout and one schema, writer and reader per file
export {
  RUN_FILES,
  ABLATION_FILES,
  runPath,
  findRuns,
  readRunFiles,
  readRunConfig,
  readEnvironment,
  readHistory,
  readRunMetrics,
  readRunPredictions,
  readPredictionsFile,
  readDenseThresholds,
  readDenseExamples,
  readRunModel,
  readRunModelMetadata,
  hasRunModel,
  type RunFiles,
  type DenseThresholdsFile,
  type DenseExamplesFile,
} from './runs/index.ts';
export { attentionFileSchema, readAttention, type AttentionFile } from './runs/attention.ts';

// Reports: run and ablation reports, leaderboards, classification reports, figures
export { writeRunReport } from './report/run-report.ts';
export { writeAblationReport } from './report/ablation-report.ts';
export { buildLeaderboard, formatLeaderboard } from './report/leaderboard.ts';
export { classificationReport, formatClassificationReport, writeClassificationReport } from './report/classification-report.ts';
export { renderSvg, svgToPng } from './report/render.ts';

// Experiments: configs, runs, cross-validation, ablations, prediction and ensembles, two-stage embeddings
export { defineExperiment, parseExperiment, experimentSchema, type Experiment, type ExperimentInput } from './experiments/config.ts';
export { loadExperimentFile } from './experiments/load.ts';
export { resolveExperiment } from './experiments/resolve.ts';
export { runExperiment, type RunOptions, type RunResult } from './experiments/run.ts';
export { taskFor, LabelTask, DenseMapTask, type Task, type FinishContext, type RunScores } from './experiments/tasks/index.ts';
export { runCrossValidation, summarizeCrossValidation, formatCrossValidation } from './experiments/cross-validate.ts';
export { defineAblation, parseAblation, planAblation, parseShard, shardTrials, type Ablation, type AblationInput, type AblationPlan } from './experiments/ablation.ts';
export { loadAblationFile, runAblation, type AblationRun } from './experiments/ablate.ts';
export { summarizeAblation, writeAblationSummary, formatAblationSummary, type AblationSummary } from './experiments/summarize.ts';
export { predictEnsemble, type EnsembleMember, type TestTimeAugmentation } from './experiments/predict.ts';
export { runPredictJob, type PredictJobOptions, type PredictJobResult } from './experiments/predict-job.ts';
export { extractEmbeddings } from './experiments/extract.ts';
export { collectClassAttention, pickAttentionPatients } from './experiments/class-attention.ts';
