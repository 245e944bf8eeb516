/** The model family: registries, the factory, save/load and the reference benchmark workload. */
export { backbones, defineBackbone, commonBackboneOptions, type Backbone, type BackboneContext, type ImageShape } from './backbones/index.ts';
export { encoders, defineEncoder, outputLevels, type EncoderContext, type OutputLevel, type SliceEncoder } from './encoders/index.ts';
export { decoders, defineDecoder, readsSlices, type Decoder, type DecoderContext, type LabelDecoderFactory, type SliceDecoder } from './decoders/index.ts';
export { heads, defineHead, headName, type Head, type HeadContext } from './heads/index.ts';
export {
  buildModel,
  buildBackbone,
  modelMetadata,
  modelConfigSchema,
  inputShapeSchema,
  type BuildModelOptions,
  type ModelConfig,
  type ModelConfigInput,
  type ModelInputShape,
  type ModelMetadata,
} from './build.ts';
export { stackSlices, foldApplyUnfold, stackingModes, type StackingMode } from './stack.ts';
export { saveModel, loadModel, diskIOHandler, readModelArtifacts } from './io.ts';
export { buildReferenceBenchModel, referenceBenchConfig, referenceBenchShape, type ReferenceBench } from './reference.ts';
export * from './layers/index.ts';
export { classAttention, queryDecoders, type ClassAttentionMap } from './attention-maps.ts';
