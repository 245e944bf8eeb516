import { chestDemo } from './chest.ts';
import { denseOrdinalDemo } from './dense-ordinal.ts';
import { resolveManifestDemoOptions, writeManifestDemo, type ManifestDemoKind, type ManifestDemoOptions, type ManifestDemoSummary, type ResolvedManifestDemoOptions } from './manifest-demo.ts';
import { ordinalDemo } from './ordinal.ts';
import { organsDemo } from './organs.ts';

/** A manifest demo kind as the CLI sees it: what it is, and how to write it. */
export interface ManifestDemoWriter {
  name: string;
  description: string;
  defaults: { size: number; slices: number | [number, number]; /** Images written when --patients is left out (100 otherwise). */ patients?: number };
  /** What it writes in its folder (`--force` replaces these); the manifest layout's when absent. */
  entries?: readonly string[];
  /** Validates options (errors name the field) and fills in the kind's defaults. */
  resolve(options: ManifestDemoOptions): ResolvedManifestDemoOptions;
  write(dir: string, options: ManifestDemoOptions, onPatient?: () => void): Promise<ManifestDemoSummary>;
}

function writerOf<L>(kind: ManifestDemoKind<L>): ManifestDemoWriter {
  const { name, description, defaults } = kind;
  return { name, description, defaults, resolve: (options) => resolveManifestDemoOptions(kind, options), write: (dir, options, onPatient) => writeManifestDemo(dir, kind, options, onPatient) };
}

/** The manifest-layout demo datasets of `sliceseq demo-data --kind` (besides the default head-CT phantom, rsna-ich). */
export const manifestDemoKinds: Record<string, ManifestDemoWriter> = Object.fromEntries(
  [writerOf(organsDemo), writerOf(ordinalDemo), writerOf(chestDemo), denseOrdinalDemo].map((writer) => [writer.name, writer]),
);

export const demoKindNames: readonly string[] = ['rsna-ich', ...Object.keys(manifestDemoKinds)];
