// cilium-agent's command line as a user meets it: --help lists --kvstore-lease-ttl with its
// default, and a bad or out-of-range TTL stops the agent before it touches anything, with a
// message naming the flag.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const mainJs = fileURLToPath(new URL('./main.js', import.meta.url));
const agent = (...args: string[]) => spawnSync(process.execPath, [mainJs, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('cilium-agent flags', () => {
  test('--help documents --kvstore-lease-ttl and its default (15m, as upstream)', () => {
    const r = agent('--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--kvstore-lease-ttl/);
    assert.match(r.stdout, /15m/);
  });

  for (const [value, why] of [
    ['2s', /--kvstore-lease-ttl: "2s" \(2s\) is not between 5s and 86400s/],
    ['25h', /--kvstore-lease-ttl: "25h" \(90000s\) is not between 5s and 86400s/],
    ['15', /--kvstore-lease-ttl: "15" is not a duration/],
    ['1500ms', /--kvstore-lease-ttl: "1500ms" is not a whole number of seconds/],
  ] as const) {
    test(`--kvstore-lease-ttl ${value} is refused with exit status 2`, () => {
      const r = agent('--node-name', 'n1', '--kvstore-lease-ttl', value);
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, why);
    });
  }

  test('--underlay-protocol is documented; a bad value, or ipv6 without --node-ipv6 in tunnel mode, is refused naming the flag', () => {
    assert.match(agent('--help').stdout, /--underlay-protocol/);
    const bad = agent('--node-name', 'n1', '--underlay-protocol', 'ip6');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--underlay-protocol ip6: is not one of ipv4, ipv6/);
    const noAddress = agent('--node-name', 'n1', '--routing-mode', 'tunnel', '--underlay-protocol', 'ipv6', '--node-ip', '192.168.0.1');
    assert.equal(noAddress.status, 2, noAddress.stderr);
    assert.match(noAddress.stderr, /--underlay-protocol ipv6: tunnel mode over IPv6 needs --node-ipv6/);
  });
});
