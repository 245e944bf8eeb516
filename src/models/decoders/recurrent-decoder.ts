import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { LabelDecoder, decoderInputKinds } from '../layers/label-decoder.ts';
import type { CellKind } from '../layers/recurrent-cells.ts';
import { defineDecoder } from './decoder.ts';

/** The `lstm` and `gru` decoders differ only in their cell (the GRU has a hidden state only). */
export function recurrentDecoder(cell: CellKind, description: string) {
  return defineDecoder({
    name: cell,
    description,
    schema: z.object({
      hidden: z.number().int().positive().default(32),
      bidirectional: z.boolean().default(true),
      /**
       * `zeros`: the reference design's empty step inputs; `embedding`: a learned class embedding through the cell's
       * input kernel; `learned`: a learned input per class step added to the gates, zero at the start.
       */
      inputs: z.enum(decoderInputKinds).default('zeros'),
      embeddingSize: z.number().int().positive().default(16),
    }),
    create: (config, { rng, classes, name }) => (features) =>
      new LabelDecoder({
        name,
        cell,
        hidden: config.hidden,
        bidirectional: config.bidirectional,
        numClasses: classes.length,
        inputs: config.inputs,
        embeddingSize: config.embeddingSize,
        seed: rng.seed(),
      }).apply(features) as tf.SymbolicTensor,
  });
}
