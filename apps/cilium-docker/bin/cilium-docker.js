#!/usr/bin/env node
// Launcher that npm links as node_modules/.bin/cilium-docker (it exists before the build, so a
// clean `npm ci` links it); the program itself is compiled into dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('cilium-docker: not built yet; run tools/setup (or npx nx run-many -t build)\n');
  process.exit(1);
}
await import(main.href);
