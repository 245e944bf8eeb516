/** The custom layers; importing this module registers them for (de)serialization. */
export { MaskedRecurrent, type MaskedRecurrentArgs, type MaskedRecurrentOptions } from './masked-recurrent.ts';
export { LabelDecoder, decoderInputKinds, type DecoderInputKind, type LabelDecoderArgs, type LabelDecoderOptions } from './label-decoder.ts';
export { ClassQueryDecoder, queryLevels, type ClassQueryDecoderArgs, type ClassQueryDecoderOptions, type ClassQueryOutputs, type QueryLevel } from './class-query-decoder.ts';
export { FoldSlices, UnfoldSlices, compactRows, expandRows, type SliceFoldingOptions } from './slice-folding.ts';
export { MaskedPooling, poolingModes, type PoolingMode, type MaskedPoolingOptions } from './masked-pooling.ts';
export { SeededDropout, type SeededDropoutOptions } from './seeded-dropout.ts';
export { cellKinds, type CellKind } from './recurrent-cells.ts';
export { OptionsLayer, type LayerNaming } from './options-layer.ts';
export { ImageNormalization, type ImageNormalizationOptions } from './image-normalization.ts';
export { SliceNeighbours, UpsampleNearest, type SliceNeighboursOptions, type UpsampleOptions } from './dense-maps.ts';
