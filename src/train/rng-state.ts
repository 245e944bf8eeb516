import type * as tf from '@tensorflow/tfjs';
import type { RngState } from '../core/rng.ts';

/** A layer that draws random numbers during training (e.g. seeded dropout) and can save where its stream stands. */
interface StatefulRandomLayer {
  name: string;
  rngState(): RngState;
  setRngState(state: RngState): void;
}

function isStatefulRandom(layer: unknown): layer is StatefulRandomLayer {
  return typeof (layer as StatefulRandomLayer).rngState === 'function' && typeof (layer as StatefulRandomLayer).setRngState === 'function';
}

/** Every random layer, nested models included, by a path of layer names that is stable across rebuilds. */
function randomLayers(model: tf.LayersModel, prefix = ''): Array<[string, StatefulRandomLayer]> {
  return model.layers.flatMap((layer, index) => {
    const key = `${prefix}${index}`;
    if (isStatefulRandom(layer)) return [[key, layer] as [string, StatefulRandomLayer]];
    const nested = layer as unknown as tf.LayersModel;
    return Array.isArray(nested.layers) ? randomLayers(nested, `${key}/`) : [];
  });
}

/** The stream positions of all random layers: saved in checkpoints so a resumed run draws what the original would. */
export function rngStates(model: tf.LayersModel): Record<string, RngState> {
  return Object.fromEntries(randomLayers(model).map(([key, layer]) => [key, layer.rngState()]));
}

export function restoreRngStates(model: tf.LayersModel, states: Record<string, RngState>): void {
  for (const [key, layer] of randomLayers(model)) {
    if (states[key]) layer.setRngState(states[key]);
  }
}
