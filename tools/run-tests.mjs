#!/usr/bin/env node
// Runs one project's compiled tests (dist/**/*.test.js) with node:test, prints the spec
// report, and records pass/fail/skip counts in <root>/.test-results/<project>.json for
// tools/test to sum up. Exit status is non-zero when a test failed, or, under CI=true,
// when a test was skipped (privileged tests must run in CI). With CTS_TEST_TIER=unit
// (tools/test --unit) only the files test-tier.mjs finds need no root, kernel, etcd or lab run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { systemNeed } from './test-tier.mjs';

const projectDir = process.cwd();
const root = resolve(projectDir, projectDir.includes('/tools') && basename(projectDir) === 'tools' ? '..' : '../..');
const project = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')).name;

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (entry.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const tier = process.env.CTS_TEST_TIER ?? 'all';
if (tier !== 'all' && tier !== 'unit') {
  console.error(`run-tests: CTS_TEST_TIER=${tier}: not a tier; use unit or leave it unset`);
  process.exit(2);
}
let files = findTests(join(projectDir, 'dist'));
if (tier === 'unit') {
  const all = files;
  files = all.filter((f) => systemNeed(root, f) === undefined);
  console.log(`${project}: unit tier: ${files.length} of ${all.length} test files (the others need root, etcd, netns or a lab)`);
}
const resultsDir = join(root, '.test-results');
mkdirSync(resultsDir, { recursive: true });
const tapFile = join(resultsDir, `${project.replace(/[@/]/g, '_')}.tap`);
rmSync(tapFile, { force: true });
let counts = { pass: 0, fail: 0, skipped: 0 };
// nx sets FORCE_COLOR, which makes console.log colour numbers in every child process a
// test spawns; tests parse such output, so they run without it.
const env = { ...process.env };
delete env.FORCE_COLOR;
if (files.length > 0) {
  const r = spawnSync(process.execPath, [
    '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ], { stdio: 'inherit', env });
  const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
  const num = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  counts = { pass: num('pass'), fail: num('fail') + num('cancelled'), skipped: num('skipped') + num('todo') };
  if (r.status !== 0 && counts.fail === 0) counts.fail = 1;
}
writeFileSync(join(resultsDir, `${project.replace(/[@/]/g, '_')}.json`), JSON.stringify({ project, ...counts }) + '\n');
console.log(`${project}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped`);
if (counts.fail > 0) process.exit(1);
if (process.env.CI === 'true' && counts.skipped > 0) {
  console.error(`${project}: ${counts.skipped} test(s) skipped under CI=true; privileged tests must run in CI`);
  process.exit(1);
}
