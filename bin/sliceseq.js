#!/usr/bin/env node
// The package ships TypeScript sources; tsx compiles them on load, so experiment files (.ts) import the same way.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
