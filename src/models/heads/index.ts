import { Registry } from '../../core/registry.ts';
import { binaryHead } from './binary.ts';
import { categoricalHead } from './categorical.ts';
import type { Head, HeadContext } from './head.ts';
import { ordinalHead } from './ordinal.ts';

export { defineHead, headName, type Head, type HeadContext } from './head.ts';

/** Heads by label-group kind; a model has one head per group of its label schema. */
export const heads = new Registry<HeadContext, Head>('head');
heads.register(binaryHead);
heads.register(categoricalHead);
heads.register(ordinalHead);
