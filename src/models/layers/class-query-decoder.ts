import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../../core/rng.ts';
import { layerNorm, linear, multiHeadAttention, type AttentionVariables, type NormVariables } from './attention-ops.ts';
import { glorotUniform, type Initializer } from './initializers.ts';
import { binaryMask } from './masks.ts';
import { OptionsLayer, type LayerNaming } from './options-layer.ts';

export const queryLevels = ['patient', 'slice'] as const;
export type QueryLevel = (typeof queryLevels)[number];

export interface ClassQueryDecoderOptions {
  numClasses: number;
  /** Width of the queries and of the attention (a multiple of `heads`). */
  width: number;
  heads: number;
  /** Decoder blocks, each: [self-attention among the queries], cross-attention to the slices, feed-forward. */
  layers: number;
  /** Hidden size of each block's feed-forward (ReLU) part. */
  feedforward: number;
  /** On the output of every residual branch, in training only. */
  dropout: number;
  /** Let the class queries attend to each other in every block (label relationships). */
  selfAttention: boolean;
  /** `patient`: one set of class queries per patient; `slice`: one set per slice, conditioned on that slice. */
  level: QueryLevel;
  /** Seeds every initializer and the dropout masks. */
  seed: number;
}

export type ClassQueryDecoderArgs = ClassQueryDecoderOptions & LayerNaming;

interface BlockVariables {
  selfNorm: NormVariables | null;
  self: AttentionVariables | null;
  crossNorm: NormVariables;
  cross: AttentionVariables;
  feedforwardNorm: NormVariables;
  feedforwardIn: [tf.LayerVariable, tf.LayerVariable];
  feedforwardOut: [tf.LayerVariable, tf.LayerVariable];
}

export interface ClassQueryOutputs {
  /** patient level [batch, classes]; slice level [batch, slices, classes] (zeros at padded slices). */
  scores: tf.Tensor;
  /**
   * The last block's cross-attention weights averaged over heads: patient level [batch, classes, slices], slice
   * level [batch, slices, classes, slices]; padded slices get weight 0.
   */
  attention: tf.Tensor;
}

/**
 * The class-query label decoder (Query2Label / ML-Decoder style): one learned query per class cross-attends to
 * the encoder's per-slice outputs, then a per-class linear map scores it. Inputs [sequence [b, s, F], mask [b, s]].
 *
 * The slices first go through Linear(F → width) and a layer norm (the keys and values of every block). Each block
 * is pre-norm with residuals: optional self-attention among the queries, multi-head cross-attention to the real
 * slices (padded slices masked out), a ReLU feed-forward. A final layer norm and class c's own weight vector give
 * score_c = <w_c, q_c> + b_c.
 *
 * At slice level every slice gets its own set of queries: class embedding + Linear(F → width) of that slice's
 * feature, so the queries of slice t ask "does class c show at t?" while attending to the whole patient (their
 * own slice included); self-attention mixes only the queries of the same slice.
 */
export class ClassQueryDecoder extends OptionsLayer<ClassQueryDecoderOptions> {
  static readonly className = 'SliceseqClassQueryDecoder';
  private readonly rng: Rng;
  private memoryKernel!: tf.LayerVariable;
  private memoryBias!: tf.LayerVariable;
  private memoryNorm!: NormVariables;
  private queries!: tf.LayerVariable;
  private sliceQueryKernel: tf.LayerVariable | null = null;
  private blocks: BlockVariables[] = [];
  private outputNorm!: NormVariables;
  private scoreKernel!: tf.LayerVariable;
  private scoreBias!: tf.LayerVariable;

  constructor(args: ClassQueryDecoderArgs) {
    super(args, ['numClasses', 'width', 'heads', 'layers', 'feedforward', 'dropout', 'selfAttention', 'level', 'seed']);
    const { width, heads, dropout, level } = args;
    if (!(Number.isInteger(heads) && heads >= 1 && width % heads === 0)) throw new Error(`${this.name}: width ${width} must be a multiple of heads ${heads}`);
    if (!(Number.isInteger(args.layers) && args.layers >= 1)) throw new Error(`${this.name}: layers must be a positive integer, got ${args.layers}`);
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`${this.name}: dropout must be in [0, 1), got ${dropout}`);
    if (!queryLevels.includes(level)) throw new Error(`${this.name}: level must be one of ${queryLevels.join(', ')}, got '${String(level)}'`);
    this.rng = new Rng(Rng.derive(args.seed, 'dropout').seed());
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [sequenceShape] = inputShape as tf.Shape[];
    const features = sequenceShape[2];
    if (features == null) throw new Error(`${this.name}: the feature size must be known, got shape [${sequenceShape.join(', ')}]`);
    const { numClasses, width, feedforward, layers, selfAttention, level, seed } = this.options;
    const seedOf = (name: string) => Rng.derive(seed, name).seed();
    const add = (name: string, shape: number[], initializer: Initializer) => this.addWeight(name, shape, 'float32', initializer);
    const dense = (name: string, rows: number, cols: number): [tf.LayerVariable, tf.LayerVariable] => [
      add(`${name}_kernel`, [rows, cols], glorotUniform(seedOf(`${name}_kernel`))),
      add(`${name}_bias`, [cols], tf.initializers.zeros()),
    ];
    const norm = (name: string): NormVariables => ({ gamma: add(`${name}_gamma`, [width], tf.initializers.ones()), beta: add(`${name}_beta`, [width], tf.initializers.zeros()) });
    const attention = (name: string): AttentionVariables => {
      const [queryKernel, queryBias] = dense(`${name}_query`, width, width);
      const [keyKernel, keyBias] = dense(`${name}_key`, width, width);
      const [valueKernel, valueBias] = dense(`${name}_value`, width, width);
      const [outputKernel, outputBias] = dense(`${name}_output`, width, width);
      return { queryKernel, queryBias, keyKernel, keyBias, valueKernel, valueBias, outputKernel, outputBias };
    };
    [this.memoryKernel, this.memoryBias] = dense('memory', features, width);
    this.memoryNorm = norm('memory_norm');
    this.queries = add('class_queries', [numClasses, width], tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: seedOf('class_queries') }));
    if (level === 'slice') this.sliceQueryKernel = add('slice_query_kernel', [features, width], glorotUniform(seedOf('slice_query_kernel')));
    this.blocks = Array.from({ length: layers }, (_, index) => {
      const prefix = `block${index + 1}`;
      return {
        selfNorm: selfAttention ? norm(`${prefix}_self_norm`) : null,
        self: selfAttention ? attention(`${prefix}_self`) : null,
        crossNorm: norm(`${prefix}_cross_norm`),
        cross: attention(`${prefix}_cross`),
        feedforwardNorm: norm(`${prefix}_ffn_norm`),
        feedforwardIn: dense(`${prefix}_ffn_in`, width, feedforward),
        feedforwardOut: dense(`${prefix}_ffn_out`, feedforward, width),
      };
    });
    this.outputNorm = norm('output_norm');
    this.scoreKernel = add('score_kernel', [numClasses, width], glorotUniform(seedOf('score_kernel')));
    this.scoreBias = add('score_bias', [numClasses], tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [[batch, slices]] = inputShape as tf.Shape[];
    return this.options.level === 'patient' ? [batch, this.options.numClasses] : [batch, slices, this.options.numClasses];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => this.forward(inputs as tf.Tensor[], kwargs.training === true).scores);
  }

  /** Scores and attention maps for [sequence, mask] (inference: no dropout). The caller disposes both. */
  scoresAndAttention(inputs: [tf.Tensor, tf.Tensor]): ClassQueryOutputs {
    if (!this.built) this.build([inputs[0].shape, inputs[1].shape]);
    const [scores, attention] = tf.tidy(() => {
      const outputs = this.forward(inputs, false);
      return [outputs.scores, outputs.attention];
    });
    return { scores, attention };
  }

  private dropout(x: tf.Tensor, training: boolean): tf.Tensor {
    return training && this.options.dropout > 0 ? tf.dropout(x, this.options.dropout, undefined, this.rng.seed()) : x;
  }

  private forward([sequence, mask]: tf.Tensor[], training: boolean): ClassQueryOutputs {
    const { numClasses, width, heads, level } = this.options;
    const [batch, slices] = sequence.shape;
    const real = binaryMask(mask);
    // Padded slices may hold anything: zero them before they are projected.
    const clean = tf.mul(sequence, real.expandDims(2));
    const memory = layerNorm(linear(clean, this.memoryKernel, this.memoryBias), this.memoryNorm);
    const perSet = level === 'patient' ? 1 : slices;
    let queries: tf.Tensor = tf.broadcastTo(this.queries.read().reshape([1, 1, numClasses, width]), [batch, perSet, numClasses, width]);
    if (this.sliceQueryKernel) queries = tf.add(queries, linear(clean, this.sliceQueryKernel, null).expandDims(2));
    // [batch, sets·classes, width]: every set of queries of a patient attends to the same slices.
    queries = queries.reshape([batch, perSet * numClasses, width]);
    let attention: tf.Tensor | null = null;
    for (const block of this.blocks) {
      if (block.self && block.selfNorm) {
        const normed = layerNorm(queries, block.selfNorm).reshape([batch * perSet, numClasses, width]);
        const mixed = multiHeadAttention(normed, normed, heads, block.self, null).output.reshape([batch, perSet * numClasses, width]);
        queries = tf.add(queries, this.dropout(mixed, training));
      }
      const cross = multiHeadAttention(layerNorm(queries, block.crossNorm), memory, heads, block.cross, real);
      queries = tf.add(queries, this.dropout(cross.output, training));
      attention = cross.weights;
      const hidden = tf.relu(linear(layerNorm(queries, block.feedforwardNorm), ...block.feedforwardIn));
      queries = tf.add(queries, this.dropout(linear(hidden, ...block.feedforwardOut), training));
    }
    const final = layerNorm(queries, this.outputNorm).reshape([batch, perSet, numClasses, width]);
    const scores = tf.add(tf.sum(tf.mul(final, this.scoreKernel.read()), -1), this.scoreBias.read());
    const maps = attention!.reshape([batch, perSet, numClasses, slices]);
    if (level === 'patient') return { scores: scores.reshape([batch, numClasses]), attention: maps.reshape([batch, numClasses, slices]) };
    const realSlices = real.expandDims(2);
    return { scores: tf.mul(scores, realSlices), attention: tf.mul(maps, realSlices.expandDims(3)) };
  }

  /** Where the dropout mask stream stands: checkpoints save it so a resumed run draws the masks the original would. */
  rngState(): RngState {
    return this.rng.state();
  }

  setRngState(state: RngState): void {
    this.rng.setState(state);
  }
}

tf.serialization.registerClass(ClassQueryDecoder);
