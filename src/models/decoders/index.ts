import { Registry } from '../../core/registry.ts';
import { denseDecoder } from './dense.ts';
import type { Decoder, DecoderContext } from './decoder.ts';
import { gruDecoder } from './gru.ts';
import { lstmDecoder } from './lstm.ts';
import { queryDecoder } from './query.ts';

export { defineDecoder, readsSlices, type Decoder, type DecoderContext, type LabelDecoderFactory, type SliceDecoder } from './decoder.ts';

/** Label decoders by name: `{ name: 'lstm', hidden: 32, bidirectional: true }`. */
export const decoders = new Registry<DecoderContext, Decoder>('decoder');
decoders.register(lstmDecoder);
decoders.register(gruDecoder);
decoders.register(denseDecoder);
decoders.register(queryDecoder);
