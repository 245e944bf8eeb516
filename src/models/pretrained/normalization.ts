import type { ImageNormalizationOptions } from '../layers/image-normalization.ts';

/**
 * Input normalisations of common pretrained weights, applied to sliceseq's images (each channel 0..1, e.g. one
 * CT window per channel: brain → R, subdural → G, bone → B):
 * - `caffe`: Keras' VGG16/ResNet50 `preprocess_input`: ×255, RGB → BGR, minus the ImageNet BGR mean;
 * - `imagenet`: torchvision/timm: (x − ImageNet mean) / ImageNet std on RGB in 0..1;
 * - `none`: the images as they are.
 * With other than 3 channels, every channel gets the average of the three means and stds (and no reversal),
 * which matches a first-layer kernel summed (1 channel) or repeated (more) from the 3-channel one.
 */
export const normalizations = ['none', 'caffe', 'imagenet'] as const;
export type Normalization = (typeof normalizations)[number];

const table: Record<Exclude<Normalization, 'none'>, ImageNormalizationOptions> = {
  caffe: { scale: 255, reverseChannels: true, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  imagenet: { scale: 1, reverseChannels: false, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

export function normalizationOptions(name: Exclude<Normalization, 'none'>, channels: number): ImageNormalizationOptions {
  const options = table[name];
  if (channels === 3) return options;
  const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return { scale: options.scale, reverseChannels: false, mean: Array(channels).fill(average(options.mean)), std: Array(channels).fill(average(options.std)) };
}
