import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { proxy as api } from '@cilium-ts/api';
import { createClient, createServer, type GrpcServer } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { L7Proxy } from './proxy.js';
import { proxyService } from './proxy-service.js';

// DnsMappings over a real gRPC server: an answer is released only on the agent's ok ack;
// no agent, a refusal, a silent agent (the bound) or an agent that leaves: not released.
describe('DnsMappings (toFQDNs): the proxy waits for the agent', () => {
  const logger = createLogger('proxy-test', { level: 'error' });
  let proxy: L7Proxy;
  let server: GrpcServer;
  let client: api.ProxyClient;
  const answer = { endpointId: 7, name: 'allowed.example.', ips: ['192.0.2.10'], ttl: 30, server: { address: '10.0.0.3', port: 53 } };

  before(async () => {
    proxy = new L7Proxy({ identities: { identityOf: () => 2 }, logger, ports: { ingress: 0, egress: 0 }, dnsPort: 0, markUpstream: false, dnsAckTimeoutMs: 300 });
    await proxy.start();
    server = await createServer({ component: 'proxy', services: [proxyService(proxy, logger, '0.1.0')], addresses: ['127.0.0.1:0'], logger });
    client = createClient(api.ProxyClient, server.addresses[0]!);
  });
  after(async () => {
    client.close();
    await server.shutdown({ timeoutMs: 2000 });
    await proxy.stop();
  });

  const attached = async (): Promise<void> => {
    for (let i = 0; i < 200 && !proxy.dnsMappings.connected; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(proxy.dnsMappings.connected, true);
  };

  test('no agent attached: not released', async () => {
    assert.deepEqual(await proxy.dnsMappings.learn(answer), { ok: false, reason: 'no agent is attached to DnsMappings' });
  });

  test('ok ack releases; a refusal and a silent agent do not; the agent leaving fails what waits', async () => {
    const stream = client.dnsMappings();
    stream.on('error', () => {});
    let mode: 'ok' | 'refuse' | 'silent' = 'ok';
    const seen: api.DnsMapping[] = [];
    stream.on('data', (m: api.DnsMapping) => {
      seen.push(m);
      if (mode !== 'silent') stream.write(api.DnsMappingAck.fromPartial({ id: m.id, ok: mode === 'ok', error: mode === 'refuse' ? 'ips: bad' : '' }));
    });
    // The stream reaches the proxy with the first message either way; send nothing, wait for attach.
    await attached();
    assert.deepEqual(await proxy.dnsMappings.learn(answer), { ok: true });
    assert.deepEqual(seen.map((m) => [m.endpointId, m.name, m.ips, m.ttl, m.serverAddress, m.serverPort]), [[7, 'allowed.example.', ['192.0.2.10'], 30, '10.0.0.3', 53]]);
    mode = 'refuse';
    assert.deepEqual(await proxy.dnsMappings.learn(answer), { ok: false, reason: 'the agent refused it: ips: bad' });
    mode = 'silent';
    assert.deepEqual(await proxy.dnsMappings.learn(answer), { ok: false, reason: 'no ack from the agent within 300 ms' });
    const waiting = proxy.dnsMappings.learn(answer);
    stream.end();
    assert.equal((await waiting).ok, false);
  });
});
