// --bpf-lb-algorithm and --bpf-lb-maglev-table-size as a user meets them: documented with
// Cilium's defaults, bad values refused at start (exit 2) naming the flag.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { LbFlagError, parseLbFlags } from './lb-flags.js';

const mainJs = fileURLToPath(new URL('../main.js', import.meta.url));
const agent = (...args: string[]) => spawnSync(process.execPath, [mainJs, ...args], { encoding: 'utf8', timeout: 30_000 });

test('parseLbFlags accepts random and maglev with a prime table size, refuses the rest naming the flag', () => {
  assert.deepEqual(parseLbFlags({ bpfLbAlgorithm: 'maglev', bpfLbMaglevTableSize: 65521 }), { lbAlgorithm: 'maglev', maglevTableSize: 65521 });
  assert.throws(() => parseLbFlags({ bpfLbAlgorithm: 'round-robin', bpfLbMaglevTableSize: 16381 }), (e: Error) => e instanceof LbFlagError && /--bpf-lb-algorithm: "round-robin" is not one of random, maglev/.test(e.message));
  for (const size of [16383, 0, 100]) {
    assert.throws(() => parseLbFlags({ bpfLbAlgorithm: 'maglev', bpfLbMaglevTableSize: size }), (e: Error) => e instanceof LbFlagError && e.message.includes('--bpf-lb-maglev-table-size') && e.message.includes(`${size} is not a supported Maglev table size`));
  }
});

test('cilium-agent documents the flags with the defaults (random, 16381) and exits 2 on a bad table size', () => {
  const help = agent('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--bpf-lb-algorithm/);
  assert.match(help.stdout, /--bpf-lb-maglev-table-size[^\n]*\n?[^\n]*16381/);
  const bad = agent('--node-name', 'n1', '--bpf-lb-algorithm', 'maglev', '--bpf-lb-maglev-table-size', '16000');
  assert.equal(bad.status, 2, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, /--bpf-lb-maglev-table-size.*16000 is not a supported Maglev table size/);
});

test('parseLbFlags: --enable-node-port needs --node-ip, takes snat / dsr / hybrid and a device name, refuses the rest naming the flag', () => {
  const base = { bpfLbAlgorithm: 'random', bpfLbMaglevTableSize: 16381 };
  assert.deepEqual(parseLbFlags({ ...base, enableNodePort: true, bpfLbMode: 'snat', devices: '', nodeIp: '192.168.200.1' }).nodePort, { mode: 'snat' });
  assert.deepEqual(parseLbFlags({ ...base, enableNodePort: true, bpfLbMode: 'snat', devices: 'node0', nodeIp: '192.168.200.1' }).nodePort, { mode: 'snat', device: 'node0' });
  assert.deepEqual(parseLbFlags({ ...base, enableNodePort: true, bpfLbMode: 'dsr', nodeIp: '192.168.200.1' }).nodePort, { mode: 'dsr' });
  assert.deepEqual(parseLbFlags({ ...base, enableNodePort: true, bpfLbMode: 'hybrid', nodeIp: '192.168.200.1' }).nodePort, { mode: 'hybrid' });
  assert.equal(parseLbFlags({ ...base, enableNodePort: false, bpfLbMode: 'snat', nodeIp: '' }).nodePort, undefined);
  const refused: Array<[object, RegExp]> = [
    [{ enableNodePort: true, bpfLbMode: 'snat', nodeIp: '' }, /--enable-node-port: needs --node-ip/],
    [{ enableNodePort: true, bpfLbMode: 'DSR', nodeIp: '192.168.200.1' }, /--bpf-lb-mode: "DSR" is not one of snat, dsr, hybrid/],
    [{ enableNodePort: true, bpfLbMode: '', nodeIp: '192.168.200.1' }, /--bpf-lb-mode: "" is not one of snat, dsr, hybrid/],
    [{ enableNodePort: true, bpfLbMode: 'snat', devices: 'eth0;rm', nodeIp: '192.168.200.1' }, /--devices: "eth0;rm" is not an interface name/],
  ];
  for (const [over, msg] of refused) assert.throws(() => parseLbFlags({ ...base, ...over }), (e: Error) => e instanceof LbFlagError && msg.test(e.message), JSON.stringify(over));
});
