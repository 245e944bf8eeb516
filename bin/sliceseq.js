#!/usr/bin/env node
// The package ships TypeScript sources; tsx compiles them on load, so experiment files (.ts) import the same way.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
// Experiment files from any folder load as ES modules and may import 'sliceseq' (module-hooks.js).
registerHooks('./module-hooks.js', import.meta.url);
await import('../src/cli/main.ts');
