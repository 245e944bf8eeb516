import { concatRows, matrix, type LabelMatrix, type Matrix, type ScoreMatrix, type Warn } from './matrix.ts';
import type { Metric, MetricValue } from './registry.ts';

/**
 * Metrics over an epoch, batch by batch: `update` keeps each batch's predictions and targets, `compute` scores
 * all of them at once with the same pure functions — never an average of per-batch values, which would be
 * wrong for F2, AUC and every other non-additive metric. Memory is bounded by the dataset size.
 */
export class PredictionBuffer {
  private predictions: ScoreMatrix[] = [];
  private targets: LabelMatrix[] = [];
  private count = 0;

  /** Copies the batch, so the caller may reuse its arrays. */
  update(predictions: ScoreMatrix, targets: LabelMatrix): void {
    if (predictions.rows !== targets.rows || predictions.cols !== targets.cols) {
      throw new Error(`metric update: predictions are [${predictions.rows}, ${predictions.cols}] but targets are [${targets.rows}, ${targets.cols}]`);
    }
    const first = this.predictions[0];
    if (first && first.cols !== predictions.cols) {
      throw new Error(`metric update: batch has ${predictions.cols} columns, earlier batches had ${first.cols}`);
    }
    this.predictions.push(copy(predictions));
    this.targets.push(copy(targets));
    this.count += predictions.rows;
  }

  get rows(): number {
    return this.count;
  }

  /** Everything seen since the last reset, as one pair of matrices. */
  all(): { predictions: ScoreMatrix; targets: LabelMatrix } {
    if (this.count === 0) throw new Error('metric compute: no batches since the last reset');
    return { predictions: concatRows(this.predictions), targets: concatRows(this.targets) };
  }

  reset(): void {
    this.predictions = [];
    this.targets = [];
    this.count = 0;
  }
}

function copy<T extends Matrix>(m: T): T {
  return matrix(m.data.slice(), m.rows, m.cols) as T;
}

/** update / compute / reset for a set of metrics sharing one buffer; results are keyed by `metric.label`. */
export class MetricAccumulator {
  private readonly buffer = new PredictionBuffer();

  constructor(
    readonly metrics: readonly Metric[],
    private readonly warn?: Warn,
  ) {
    const labels = new Set<string>();
    for (const metric of metrics) {
      if (labels.has(metric.label)) throw new Error(`metric '${metric.label}' is listed twice`);
      labels.add(metric.label);
    }
  }

  update(predictions: ScoreMatrix, targets: LabelMatrix): void {
    this.buffer.update(predictions, targets);
  }

  get rows(): number {
    return this.buffer.rows;
  }

  compute(): Record<string, MetricValue> {
    const { predictions, targets } = this.buffer.all();
    return Object.fromEntries(this.metrics.map((metric) => [metric.label, metric.compute(predictions, targets, this.warn)]));
  }

  /** The concatenated predictions and targets (for threshold fitting, reports, bootstrap). */
  collected(): { predictions: ScoreMatrix; targets: LabelMatrix } {
    return this.buffer.all();
  }

  reset(): void {
    this.buffer.reset();
  }
}
