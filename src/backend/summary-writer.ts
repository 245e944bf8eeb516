import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { loadedNativePackage } from './select.ts';

/** What the run's training log writes TensorBoard summaries through: tfjs-node's writer, or src/runs/tensorboard.ts's. */
export interface SummaryWriter {
  scalar(tag: string, value: number, step: number): void;
  histogram(tag: string, values: ArrayLike<number>, step: number): void;
  flush(): void;
}

interface TfjsNodeSummaryWriter {
  scalar(name: string, value: number, step: number): void;
  histogram(name: string, data: tf.Tensor, step: number, buckets?: number): void;
  flush(): void;
}

const require = createRequire(import.meta.url);

/**
 * TensorFlow's own event-file writer (tfjs-node's `tf.node.summaryFileWriter`, the WriteScalarSummary and
 * WriteSummary ops of the TensorFlow library we build) when the native backend is the active one; undefined on
 * wasm and cpu, whose runs use the JavaScript writer of the same format.
 */
export function nativeSummaryWriter(logdir: string): SummaryWriter | undefined {
  const pkg = loadedNativePackage();
  if (!pkg || tf.getBackend() !== 'tensorflow') return undefined;
  const writer = (require(pkg) as { node: { summaryFileWriter(logdir: string): TfjsNodeSummaryWriter } }).node.summaryFileWriter(logdir);
  return {
    scalar: (tag, value, step) => writer.scalar(tag, value, step),
    histogram: (tag, values, step) => {
      const data = tf.tensor1d(Float32Array.from(values));
      try {
        writer.histogram(tag, data, step);
      } finally {
        data.dispose();
      }
    },
    flush: () => writer.flush(),
  };
}
