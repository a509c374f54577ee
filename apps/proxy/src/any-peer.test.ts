import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { proxy as api } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import { ANY_PEER, L7Proxy } from './proxy.js';
import { PolicyTable } from './policy-table.js';

// The "any peer" entry (identity 0: rules without fromEndpoints) applies to a peer without
// an entry of its own; a peer with one keeps it; without an any-peer entry such a peer is denied.
describe('L7Proxy: the any-peer entry', () => {
  const identities: Record<string, number> = { '10.0.0.1': 5001, '10.0.0.2': 5002 };
  const proxy = new L7Proxy({ identities: { identityOf: (ip) => identities[ip] ?? 2 }, logger: createLogger('proxy-test', { level: 'error' }) });
  const conn = (from: string): net.Socket => ({ localAddress: '10.0.0.9', localPort: 80, remoteAddress: from, remotePort: 40000 }) as unknown as net.Socket;
  const update = (peers: object[]): PolicyTable =>
    PolicyTable.fromUpdate(api.PolicyUpdate.fromJSON({ revision: '1', endpoints: [{ endpointId: 9, identity: 5009, addresses: ['10.0.0.9'], ports: [{ direction: 'INGRESS', port: 80, proxyPort: 10001, peers }] }] }));

  test('a peer without its own entry gets the any-peer rules; one with an entry keeps its own', () => {
    proxy.apply(update([{ identity: ANY_PEER, http: [{ method: 'GET', path: '/public' }] }, { identity: 5001, allowAll: true }]));
    assert.deepEqual(proxy.resolve('ingress', conn('10.0.0.2'))?.policy, { allowAll: false, rules: { http: [{ method: 'GET', path: '/public' }] } });
    assert.equal(proxy.resolve('ingress', conn('10.0.0.2'))?.source.identity, 5002);
    assert.deepEqual(proxy.resolve('ingress', conn('10.0.0.1'))?.policy, { allowAll: true, rules: {} });
    assert.deepEqual(proxy.resolve('ingress', conn('192.0.2.1'))?.policy?.rules, { http: [{ method: 'GET', path: '/public' }] }, 'world too');
  });

  test('without an any-peer entry a peer with no entry is denied (no policy)', () => {
    proxy.apply(update([{ identity: 5001, allowAll: true }]));
    assert.equal(proxy.resolve('ingress', conn('10.0.0.2'))?.policy, undefined);
  });
});
