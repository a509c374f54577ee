import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxy as api } from '@cilium-ts/api';
import { Datapath } from '@cilium-ts/bpf';
import { createLogger } from '@cilium-ts/process';
import { ProxyClient } from './proxy-client.js';

// The agent's proxy channel against a real cilium-proxy process and the real proxy_ready
// map: an entry only after the proxy acknowledged the revision with the endpoint's rules,
// every entry gone when the proxy is SIGKILLed (fail closed), back once a new proxy
// process acknowledges the re-pushed policy.
const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;
const proxyBin = fileURLToPath(new URL('../../proxy/bin/cilium-proxy.js', import.meta.url));

describe('ProxyClient: proxy_ready follows the proxy\'s acks and its life', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/proxy-client-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'proxy-client-'));
  const address = `unix://${join(dir, 'proxy.sock')}`;
  let dp: Datapath;
  let proxy: ChildProcess | undefined;
  let client: ProxyClient | undefined;
  const startProxy = (): ChildProcess => spawn(process.execPath, [proxyBin, '--listen', address, '--bpf-pin-dir', pinDir, '--no-transparent', '--log-level', 'error'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const ready = (): string[] => dp.proxyReadyList().map((e) => `${e.endpointId}/${e.proxyPort}`).sort();
  /** Resolves once cond() holds, checking every 50 ms (the test's own timeout bounds it). */
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setTimeout(r, 50));
  };
  const web = api.EndpointPolicy.fromJSON({
    endpointId: 52, identity: 5002, addresses: ['10.204.0.3'],
    ports: [{ direction: 'INGRESS', port: 80, proxyPort: 10001, peers: [{ identity: 5001, http: [{ method: 'GET', path: '/public' }] }] }],
  });

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0 });
  });
  after(() => {
    client?.stop();
    proxy?.kill('SIGKILL');
    dp?.close();
    Datapath.removePins(pinDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('ready only after the ack; withdrawn at SIGKILL; ready again after the restart; withdrawn at stop', { timeout: 60_000 }, async () => {
    client = new ProxyClient({ address, datapath: dp, logger: createLogger('agent-test', { level: 'error' }), reconnectMs: 100 });
    client.setEndpoints([web]);
    client.start();
    // No proxy yet: nothing is ready, however long the client tries.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(ready(), []);
    proxy = startProxy();
    await until(() => ready().length > 0);
    assert.deepEqual(ready(), ['52/10001']);
    proxy.kill('SIGKILL');
    await until(() => ready().length === 0);
    assert.deepEqual(client.readyEntries(), []);
    proxy = startProxy();
    await until(() => ready().length > 0);
    assert.deepEqual(ready(), ['52/10001']);
    // The endpoint leaves the policy: its entry goes at once, before any ack.
    client.setEndpoints([]);
    assert.deepEqual(ready(), []);
    client.setEndpoints([web]);
    await until(() => ready().length > 0);
    // The agent stopping leaves the acknowledged redirects to the running proxy.
    client.stop();
    assert.deepEqual(ready(), ['52/10001']);
  });
});
