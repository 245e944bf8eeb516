/** Loading this module registers every transform family on `transforms`. */
import './window.ts';
import './clahe.ts';
import './resize.ts';
import './flip.ts';
import './rotate.ts';
import './zoom.ts';
import './jitter.ts';
import './rescale.ts';

export { transforms, type SliceTransform, type TransformContext } from './transform.ts';
export { namedWindows, windowValue, applyWindows, resolveWindow, type WindowChoice, type WindowSpec } from './window.ts';
export { flipSlice, type FlipParams } from './flip.ts';
export { warpSlice, resizeNearest } from './warp.ts';
export { jitterSlice, type JitterParams } from './jitter.ts';
