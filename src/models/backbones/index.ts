import { Registry } from '../../core/registry.ts';
import type { Backbone, BackboneContext } from './backbone.ts';
import type { LayerMatching } from '../pretrained/mapping.ts';
import { resnet18Backbone, resnet18Matching } from './resnet18.ts';
import { smallVggBackbone } from './small-vgg.ts';
import { vgg16Backbone, vgg16Matching } from './vgg16.ts';

export type { Backbone, BackboneContext, ImageShape } from './backbone.ts';
export { defineBackbone, commonBackboneOptions } from './backbone.ts';
export { layerStage, type FreezeSpec } from './backbone.ts';

/** Per-slice CNNs by name: `{ name: 'small-vgg', channels: [16, 32, 64] }`. */
export const backbones = new Registry<BackboneContext, Backbone>('backbone');
backbones.register(vgg16Backbone);
backbones.register(smallVggBackbone);
backbones.register(resnet18Backbone);

/** Backbones that take pretrained weights (`weights:`), and how a weight file's layers map onto theirs. */
export const pretrainedMatchings: Record<string, LayerMatching> = { vgg16: vgg16Matching, resnet18: resnet18Matching };
