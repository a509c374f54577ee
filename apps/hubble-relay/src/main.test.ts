// main's flag checks, run as a process: upstream's TLS flag names, contradictions refused with exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const relay = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('main: --help lists the TLS and exposure flags; contradictions exit 2 naming the flag', () => {
  const help = relay('--help');
  assert.equal(help.status, 0);
  for (const f of ['--tls-hubble-server-ca-files', '--tls-client-cert-file', '--tls-relay-server-cert-file', '--disable-server-tls', '--metrics-host']) {
    assert.ok(help.stdout.includes(f), f);
  }
  const both = relay('--peer-service', '127.0.0.1:1', '--disable-server-tls', '--tls-relay-server-cert-file', '/x.crt', '--tls-relay-server-key-file', '/x.key');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--disable-server-tls contradicts --tls-relay-server-cert-file/);
  const host = relay('--peer-service', '127.0.0.1:1', '--metrics-host', 'localhost');
  assert.equal(host.status, 2);
  assert.match(host.stderr, /--metrics-host: "localhost" is not an IP address/);
});
