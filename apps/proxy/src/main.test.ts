import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/cilium-proxy.js', import.meta.url));

test('--help explains every flag', () => {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const flag of ['--listen', '--bpf-pin-dir', '--proxy-listen-host', '--transparent', '--metrics-port', '--metrics-host', '--log-level']) {
    assert.match(r.stdout, new RegExp(`^  ${flag} .*\\S{10}`, 'm'), `${flag} is documented`);
  }
});

test('a bad flag value exits 2 naming the flag, before anything starts', () => {
  for (const [args, want] of [
    [['--log-level', 'loud'], /--log-level: "loud"/],
    [['--bpf-pin-dir', '/nonexistent-cilium-ts'], /--bpf-pin-dir: cannot open \/nonexistent-cilium-ts\/ipcache/],
    [['--listen', ''], /--listen needs at least one address/],
  ] as const) {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});
