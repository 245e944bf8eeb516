import * as tf from '@tensorflow/tfjs';

export interface LayerNaming {
  name?: string;
  trainable?: boolean;
}

/**
 * Base of sliceseq's custom layers: keeps the layer's own options (plain JSON values) and serializes them, so a
 * layer is rebuilt from its saved config by its constructor. `optionKeys` picks the options out of the config
 * tfjs passes back on load, which also carries tfjs's own fields.
 */
export abstract class OptionsLayer<Options extends object> extends tf.layers.Layer {
  protected readonly options: Readonly<Options>;

  protected constructor(args: Options & LayerNaming, optionKeys: ReadonlyArray<keyof Options>) {
    super({ name: args.name, trainable: args.trainable });
    this.options = Object.fromEntries(optionKeys.map((key) => [key, args[key]])) as unknown as Options;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.options as tf.serialization.ConfigDict) };
  }
}
