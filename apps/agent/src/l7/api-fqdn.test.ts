import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { fqdn as api, reflectionV1 } from '@cilium-ts/api';
import { createClient, createServer, unary, type GrpcServer } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { PolicyEngine } from '@cilium-ts/policy';
import { fqdnService } from './api-fqdn.js';
import { FqdnNameManager } from './fqdn-name-manager.js';

// cilium.agent.v1.FQDN over a real gRPC server: list (one row per endpoint and name, as
// upstream's cilium fqdn cache list), filters, clean, INVALID_ARGUMENT, reflection.
describe('FQDN service', () => {
  const logger = createLogger('test', { level: 'error' });
  const manager = new FqdnNameManager({ engine: new PolicyEngine(), minTtlSeconds: 0, now: () => Date.UTC(2026, 11, 7, 12), logger });
  let server: GrpcServer;
  let client: api.FQDNClient;

  before(async () => {
    server = await createServer({ component: 'agent', services: [fqdnService(() => manager)], addresses: ['127.0.0.1:0'], logger });
    client = createClient(api.FQDNClient, server.addresses[0]!);
    manager.learn({ endpointId: 7, name: 'allowed.example.', ips: ['192.0.2.10', '192.0.2.12'], ttl: 30 });
    manager.learn({ endpointId: 9, name: 'other.example.', ips: ['192.0.2.11'], ttl: 60 });
  });
  after(async () => {
    client.close();
    await server.shutdown({ timeoutMs: 2000 });
    await manager.stop();
  });

  test('list: one entry per endpoint and name with its IPs; filters by endpoint and pattern', async () => {
    const all = await unary(client, 'listCache', { endpointId: 0, matchPattern: '' });
    assert.deepEqual(all.entries.map((e) => [e.endpointId, e.source, e.fqdn, e.ttl, e.expirationTime, e.ips]), [
      [7, 'lookup', 'allowed.example.', 30, '2026-12-07T12:00:30.000Z', ['192.0.2.10', '192.0.2.12']],
      [9, 'lookup', 'other.example.', 60, '2026-12-07T12:01:00.000Z', ['192.0.2.11']],
    ]);
    assert.deepEqual((await unary(client, 'listCache', { endpointId: 9, matchPattern: '' })).entries.map((e) => e.fqdn), ['other.example.']);
    assert.deepEqual((await unary(client, 'listCache', { endpointId: 0, matchPattern: 'allowed.*' })).entries.map((e) => e.fqdn), ['allowed.example.']);
  });

  test('a bad pattern is INVALID_ARGUMENT naming match_pattern, and changes nothing', async () => {
    await assert.rejects(unary(client, 'cleanCache', { endpointId: 0, matchPattern: 'a b' }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /match_pattern/.test(e.details));
    assert.equal((await unary(client, 'listCache', { endpointId: 0, matchPattern: '' })).entries.length, 2);
  });

  test('clean removes the matching entries', async () => {
    assert.equal((await unary(client, 'cleanCache', { endpointId: 7, matchPattern: '' })).removed, 2);
    assert.deepEqual((await unary(client, 'listCache', { endpointId: 0, matchPattern: '' })).entries.map((e) => e.endpointId), [9]);
  });

  test('reflection resolves the FQDN service', async () => {
    const refl = createClient(reflectionV1.ServerReflectionClient, server.addresses[0]!);
    try {
      const resp = await new Promise<reflectionV1.ServerReflectionResponse>((resolve, reject) => {
        const call = refl.serverReflectionInfo();
        call.on('data', (r: reflectionV1.ServerReflectionResponse) => { resolve(r); call.end(); });
        call.on('error', reject);
        call.write(reflectionV1.ServerReflectionRequest.fromPartial({ fileContainingSymbol: 'cilium.agent.v1.FQDN' }));
      });
      const files = resp.fileDescriptorResponse?.fileDescriptorProto ?? [];
      assert.ok(Buffer.from(files[0]!).includes(Buffer.from('cilium/agent/v1/fqdn.proto')));
    } finally {
      refl.close();
    }
  });
});
