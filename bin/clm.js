#!/usr/bin/env node
// The `clm` command: runs the compiled CLI (npm ci builds it; `npm run build` after edits).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '../scripts/register-aliases.mjs';

const entry = new URL('../dist/apps/clm/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('clm: not built yet; run `npm run build` in the shaken-clm folder');
  process.exit(2);
}
await import(entry.href);
