import { Registry } from '../../core/registry.ts';
import { unet, type DenseModelContext, type DenseNet } from './unet.ts';

export { type DenseModelContext, type DenseNet } from './unet.ts';

/** Per-pixel (dense map) models by name: `{ name: 'unet', depth: 3, baseWidth: 16, upsample: 'resize' }`. */
export const denseModels = new Registry<DenseModelContext, DenseNet>('dense model');
denseModels.register(unet);
