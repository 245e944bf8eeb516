import { Registry } from '../../core/registry.ts';
import { denseDecoder } from './dense.ts';
import type { DecoderContext, LabelDecoderFactory } from './decoder.ts';
import { gruDecoder } from './gru.ts';
import { lstmDecoder } from './lstm.ts';

export { defineDecoder, type DecoderContext, type LabelDecoderFactory } from './decoder.ts';

/** Label decoders by name: `{ name: 'lstm', hidden: 32, bidirectional: true }`. */
export const decoders = new Registry<DecoderContext, LabelDecoderFactory>('decoder');
decoders.register(lstmDecoder);
decoders.register(gruDecoder);
decoders.register(denseDecoder);
