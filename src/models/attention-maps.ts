import * as tf from '@tensorflow/tfjs';
import { modelMetadata } from './build.ts';
import { headName } from './heads/index.ts';
import { ClassQueryDecoder } from './layers/class-query-decoder.ts';

/** One query decoder's attention for a batch. */
export interface ClassAttentionMap {
  /** The label group the decoder scores (its layer name when the model carries no sliceseq metadata). */
  group: string;
  classes: string[];
  level: 'patient' | 'slice';
  /**
   * The last block's cross-attention averaged over heads: patient level [batch, classes, slices], slice level
   * [batch, slices, classes, slices] (query slice, class, attended slice); padded slices weigh 0. The caller
   * disposes it.
   */
  attention: tf.Tensor;
  /** The decoder's logits for the same batch: [batch, classes] or [batch, slices, classes]. The caller disposes it. */
  scores: tf.Tensor;
}

/** Per model: the sub-model that computes each query decoder's inputs from the model's inputs. */
const decoderInputModels = new WeakMap<tf.LayersModel, Map<ClassQueryDecoder, tf.LayersModel>>();

function inputsModel(model: tf.LayersModel, layer: ClassQueryDecoder): tf.LayersModel {
  let byLayer = decoderInputModels.get(model);
  if (!byLayer) decoderInputModels.set(model, (byLayer = new Map()));
  let sub = byLayer.get(layer);
  if (!sub) {
    sub = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor[], name: `${layer.name}_inputs` });
    byLayer.set(layer, sub);
  }
  return sub;
}

/** The model's class-query decoders (one per binary label group); empty when it has none. */
export function queryDecoders(model: tf.LayersModel): ClassQueryDecoder[] {
  return model.layers.filter((layer): layer is ClassQueryDecoder => layer instanceof ClassQueryDecoder);
}

/**
 * What each class query of the model looked at, for one batch `[images or embeddings, mask]` (inference mode):
 * one map (and the decoder's logits) per query decoder, in label-group order. Throws when the model has no query decoder.
 */
export function classAttention(model: tf.LayersModel, inputs: [tf.Tensor, tf.Tensor]): ClassAttentionMap[] {
  const layers = queryDecoders(model);
  if (layers.length === 0) throw new Error(`model '${model.name}' has no class-query decoder (decoder: { name: 'query' }), so it has no class attention`);
  const groups = modelMetadata(model)?.labelSchema?.groups ?? [];
  return layers.map((layer) => {
    const group = groups.find((g) => `${headName(g)}_decoder` === layer.name);
    const [sequence, mask] = inputsModel(model, layer).predict(inputs) as tf.Tensor[];
    const { scores, attention } = layer.scoresAndAttention([sequence, mask]);
    tf.dispose([sequence, mask]);
    const config = layer.getConfig();
    const numClasses = config.numClasses as number;
    return {
      group: group?.name ?? layer.name,
      classes: group ? [...group.classes] : Array.from({ length: numClasses }, (_, c) => `class ${c + 1}`),
      level: config.level as 'patient' | 'slice',
      attention,
      scores,
    };
  });
}
