import * as tf from '@tensorflow/tfjs';

/** What the run's training log writes TensorBoard summaries through: TensorFlow's writer, or src/runs/tensorboard.ts's. */
export interface SummaryWriter {
  scalar(tag: string, value: number, step: number): void;
  histogram(tag: string, values: ArrayLike<number>, step: number): void;
  flush(): void;
  /** Flushes and closes the file; the writer is not used after. */
  close(): void;
}

/** The summary kernels of tfjs-node's backend (public methods of its NodeJSKernelBackend). */
interface NodeSummaryKernels {
  summaryWriter(logdir: string): tf.Tensor;
  createSummaryFileWriter(resource: tf.Tensor, logdir: string, maxQueue?: number, flushMillis?: number, filenameSuffix?: string): void;
  writeScalarSummary(resource: tf.Tensor, step: number, name: string, value: number): void;
  writeHistogramSummary(resource: tf.Tensor, step: number, name: string, data: tf.Tensor, bucketCount: number | undefined, description: string | undefined): void;
  flushSummaryWriter(resource: tf.Tensor): void;
  executeMultipleOutputs(name: string, opAttrs: unknown[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

/**
 * TensorFlow's own event-file writer (the SummaryWriter, WriteScalarSummary and WriteSummary ops of the TensorFlow
 * library tfjs-node runs; what `tf.node.summaryFileWriter` uses) when the native backend is the active one;
 * undefined on wasm and cpu, whose runs use the JavaScript writer of the same format. Unlike
 * `tf.node.summaryFileWriter`, which caches one writer per folder for the life of the process and keeps its
 * argument tensors, this one closes its file and leaves no tensor behind, so a process can run many runs.
 */
export function nativeSummaryWriter(logdir: string): SummaryWriter | undefined {
  const backend = tf.backend() as unknown as Partial<NodeSummaryKernels>;
  if (tf.getBackend() !== 'tensorflow' || typeof backend.summaryWriter !== 'function') return undefined;
  const kernels = backend as NodeSummaryKernels;
  const resource = tf.tidy(() => {
    const handle = kernels.summaryWriter(logdir);
    // Flushed by us after each epoch; TensorFlow's own flush every 2 minutes or 10 events stays as a backstop.
    kernels.createSummaryFileWriter(handle, logdir, 10, 120_000, '.v2');
    return handle;
  });
  let closed = false;
  return {
    scalar: (tag, value, step) => kernels.writeScalarSummary(resource, step, tag, value),
    histogram: (tag, values, step) => {
      const data = tf.tensor1d(Float32Array.from(values));
      try {
        kernels.writeHistogramSummary(resource, step, tag, data, undefined, undefined);
      } finally {
        data.dispose();
      }
    },
    flush: () => kernels.flushSummaryWriter(resource),
    close: () => {
      if (closed) return;
      closed = true;
      kernels.flushSummaryWriter(resource);
      tf.tidy(() => kernels.executeMultipleOutputs('CloseSummaryWriter', [], [resource], 0));
      resource.dispose();
    },
  };
}
