import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { MaskedPooling } from '../layers/masked-pooling.ts';
import { MaskedRecurrent } from '../layers/masked-recurrent.ts';
import type { CellKind } from '../layers/recurrent-cells.ts';
import { SeededDropout } from '../layers/seeded-dropout.ts';
import { defineEncoder } from './encoder.ts';

const recurrentEncoderSchema = z.object({
  hidden: z.number().int().positive().default(64),
  layers: z.number().int().min(1).max(8).default(1),
  bidirectional: z.boolean().default(true),
  /** Between stacked layers and on the encoder's output, in training only. */
  dropout: z.number().min(0).max(0.9).default(0),
  /** Patient-level output: the final states (`last`), or the masked mean / max of every slice's output. */
  pooling: z.enum(['last', 'mean', 'max']).default('last'),
});

/** The `gru` and `lstm` encoders differ only in their cell. */
export function recurrentEncoder(cell: CellKind, description: string) {
  return defineEncoder({
    name: cell,
    description,
    schema: recurrentEncoderSchema,
    create: (config, { rng, level }) => (sequence, mask) => {
      const dropout = (x: tf.SymbolicTensor, name: string) =>
        config.dropout > 0 ? (new SeededDropout({ rate: config.dropout, seed: rng.seed(), name }).apply(x) as tf.SymbolicTensor) : x;
      const poolsFinalState = level === 'patient' && config.pooling === 'last';
      let x = sequence;
      for (let layer = 1; layer <= config.layers; layer++) {
        if (layer > 1) x = dropout(x, `encoder_dropout${layer - 1}`);
        const recurrent = new MaskedRecurrent({
          name: `encoder_${cell}${layer}`,
          cell,
          hidden: config.hidden,
          bidirectional: config.bidirectional,
          returnSequences: !(poolsFinalState && layer === config.layers),
          seed: rng.seed(),
        });
        x = recurrent.apply([x, mask]) as tf.SymbolicTensor;
      }
      if (level === 'patient' && config.pooling !== 'last') {
        x = new MaskedPooling({ name: 'encoder_pool', mode: config.pooling }).apply([x, mask]) as tf.SymbolicTensor;
      }
      return dropout(x, 'encoder_dropout_out');
    },
  });
}
