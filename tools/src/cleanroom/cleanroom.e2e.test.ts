// Root: the clean-room install check (tools/cleanroom) passes for the commit under test: in
// a fresh Debian 12 container with only what a new machine of this kind has, the README's
// `tools/lab up` (then `lab check` and `lab down`) and `CI=true tools/test` succeed. It fails
// when the repository's set-up misses a Debian package, an npm install-script approval or a
// build step. Inside that container (CILIUM_TS_CLEANROOM=1) the check does not run itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../lab/layout.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const inside = process.env.CILIUM_TS_CLEANROOM === '1';
const script = join(repoRoot, 'tools', 'cleanroom');

/** Runs tools/cleanroom with args, echoing its output; resolves with its status and output. */
function runCleanroom(args: string[], onPid?: (pid: number) => void): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(script, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) onPid?.(child.pid);
    let output = '';
    const collect = (chunk: Buffer, to: NodeJS.WriteStream): void => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on('data', (c: Buffer) => collect(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => collect(c, process.stderr));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

if (!inside) {
  test('tools/cleanroom refuses a revision that is not a commit, naming it, and starts nothing', { skip }, async () => {
    const r = await runCleanroom(['--commit', 'no-such-revision-xyz']);
    assert.equal(r.code, 2);
    assert.match(r.output, /--commit 'no-such-revision-xyz' is not a commit/);
    assert.doesNotMatch(r.output, /clean room:/);
  });

  test('tools/cleanroom refuses an unknown argument', { skip }, async () => {
    const r = await runCleanroom(['--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.output, /unknown argument '--frobnicate'/);
  });

  const pids: number[] = [];
  after(() => {
    // The script removes its container on exit; this covers a test killed half-way.
    for (const pid of pids) spawnSync('podman', ['--runtime', 'runc', 'rm', '-f', '-t', '5', `cilium-ts-cleanroom-${pid}`], { stdio: 'ignore' });
  });

  test('the README commands succeed on a fresh Debian 12 machine (tools/cleanroom)', { skip }, async () => {
    const r = await runCleanroom([], (pid) => pids.push(pid));
    assert.equal(r.code, 0, 'tools/cleanroom exits 0');
    assert.match(r.output, /installing Debian packages: .*clang/, 'tools/setup installed the Debian packages itself');
    assert.match(r.output, /installing npm packages \(npm ci\)/, 'tools/setup ran npm ci from nothing');
    const summary = r.output.match(/^(\d+) passed, (\d+) failed/m);
    assert.ok(summary, 'CI=true tools/test ran to its summary line inside the container');
    assert.ok(Number(summary[1]) > 0, 'tests ran inside the container');
    assert.equal(Number(summary[2]), 0, 'no test failed inside the container');
    const ps = spawnSync('podman', ['--runtime', 'runc', 'ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' });
    assert.doesNotMatch(ps.stdout, new RegExp(`cilium-ts-cleanroom-${pids[0]}\\b`), 'the container is gone');
  });
}
