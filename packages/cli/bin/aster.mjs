#!/usr/bin/env node
// The `aster` command runs its TypeScript sources through tsx, and resolves the workspace's own packages
// (@aster/client) to their sources as well: it works right after `npm install`, with nothing to build.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';

// Its own tsconfig, not whichever one the directory it is run from has.
registerTsx({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
// Registered last, so it runs first: it adds the `source` condition for @aster/* before tsx resolves them.
register('./source-condition.mjs', import.meta.url);
await import('../src/main.ts');
