import { Registry } from '../../core/registry.ts';
import type { Backbone, BackboneContext } from './backbone.ts';
import { resnet18Backbone } from './resnet18.ts';
import { smallVggBackbone } from './small-vgg.ts';
import { vgg16Backbone } from './vgg16.ts';

export type { Backbone, BackboneContext, ImageShape } from './backbone.ts';
export { defineBackbone, commonBackboneOptions } from './backbone.ts';
export { layerStage, type FreezeSpec } from './backbone.ts';

/** Per-slice CNNs by name: `{ name: 'small-vgg', channels: [16, 32, 64] }`. */
export const backbones = new Registry<BackboneContext, Backbone>('backbone');
backbones.register(vgg16Backbone);
backbones.register(smallVggBackbone);
backbones.register(resnet18Backbone);
