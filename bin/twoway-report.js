#!/usr/bin/env node
// The `twoway-report` command. The code runs compiled; `npm run setup` (or `npm test`,
// `npm run demo`) builds it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('twoway-report: not built yet; run `npm run setup` in the project folder first\n');
  process.exit(1);
}
await import(main.href);
