import { Registry } from '../../core/registry.ts';
import type { EncoderContext, SliceEncoder } from './encoder.ts';
import { gruEncoder } from './gru.ts';
import { lstmEncoder } from './lstm.ts';
import { noneEncoder } from './none.ts';

export { defineEncoder, outputLevels, type EncoderContext, type OutputLevel, type SliceEncoder } from './encoder.ts';

/** Slice encoders by name: `{ name: 'gru', hidden: 64, bidirectional: true }`. */
export const encoders = new Registry<EncoderContext, SliceEncoder>('encoder');
encoders.register(gruEncoder);
encoders.register(lstmEncoder);
encoders.register(noneEncoder);
