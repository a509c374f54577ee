import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

// tools/test-tier.mjs sorts compiled test files into the unit and system tiers.
const tier = (await import(new URL('../test-tier.mjs', import.meta.url).href)) as { systemNeed(root: string, file: string): string | undefined };
const root = mkdtempSync(join(tmpdir(), 'cts-tier-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes a compiled file under root and returns its path. */
function file(rel: string, text: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

// Spelled in two parts so this file itself stays in the unit tier.
const childProcess = 'process' + '.execPath';

test('a test that starts a child Node process, itself or through a testing/ helper, is not a unit test', () => {
  const direct = file('apps/x/dist/main.test.js', `spawn(${childProcess}, ['bin/x.js'])`);
  assert.match(tier.systemNeed(root, direct) ?? '', /^child process/);
  file('apps/x/dist/testing/processes.js', `export const start = () => spawn(${childProcess}, [])`);
  const viaHelper = file('apps/x/dist/relay.test.js', `import { start } from './testing/processes.js';`);
  assert.match(tier.systemNeed(root, viaHelper) ?? '', /^child process \(apps\/x\/dist\/testing\/processes\.js\)/);
});

test('a test with no root gate, etcd, namespace or child process is a unit test', () => {
  const plain = file('libs/y/dist/parse.test.js', `import { parse } from './parse.js'; parse('x');`);
  assert.equal(tier.systemNeed(root, plain), undefined);
});
