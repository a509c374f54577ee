import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxy as api } from '@cilium-ts/api';
import { InvalidArgumentError } from '@cilium-ts/grpc';
import { PolicyTable } from './policy-table.js';

const update = (endpoints: unknown[], revision = 1n): api.PolicyUpdate => api.PolicyUpdate.fromJSON({ revision: String(revision), endpoints });
const web = (ports: unknown[]): unknown => ({ endpointId: 52, identity: 5002, addresses: ['10.204.0.3', 'fd04::3'], ports });

test('a valid update is looked up by direction, endpoint address and port, per peer identity', () => {
  const t = PolicyTable.fromUpdate(update([web([{ direction: 'INGRESS', port: 80, proxyPort: 10001, peers: [{ identity: 5001, http: [{ method: 'GET', path: '/public', host: '', headers: [] }] }, { identity: 5003, allowAll: true }] }])], 7n));
  assert.equal(t.revision, 7n);
  assert.deepEqual(t.endpointIds, [52]);
  const r = t.lookup('ingress', '10.204.0.3', 80)!;
  assert.equal(r.endpointId, 52);
  assert.deepEqual(r.peers.get(5001), { allowAll: false, rules: { http: [{ method: 'GET', path: '/public' }] } });
  assert.deepEqual(r.peers.get(5003), { allowAll: true, rules: {} });
  assert.equal(r.peers.get(5004), undefined);
  assert.equal(t.lookup('ingress', '::ffff:10.204.0.3', 80), r, 'an IPv4-mapped address is its IPv4 address');
  assert.ok(t.lookup('ingress', 'fd04::3', 80));
  assert.equal(t.lookup('egress', '10.204.0.3', 80), undefined);
  assert.equal(t.lookup('ingress', '10.204.0.3', 81), undefined);
});

test('an invalid update is refused as INVALID_ARGUMENT naming every problem with its path', () => {
  const bad = update([
    web([
      { direction: 'INGRESS', port: 80, proxyPort: 10002, peers: [{ identity: 5001, http: [{ method: 'GET(', path: '(a)\\1', host: '', headers: ['bad header'] }] }] },
      { direction: 'TRAFFIC_DIRECTION_UNSPECIFIED', port: 0, proxyPort: 80, peers: [{ identity: 5001 }] },
    ]),
    { endpointId: 0, addresses: ['not-an-ip'] },
  ]);
  assert.throws(() => PolicyTable.fromUpdate(bad), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    const m = err.message;
    for (const want of [
      'endpoints[0].ports[0].proxyPort: 10002 is the egress http listener, not an ingress one',
      'endpoints[0].ports[0].peers[0].http[0].method: "GET(" is not a valid regular expression',
      'endpoints[0].ports[0].peers[0].http[0].path: "(a)\\\\1" is not a valid regular expression',
      'endpoints[0].ports[0].peers[0].http[0].headers[0]',
      'endpoints[0].ports[1].direction: must be INGRESS or EGRESS',
      'endpoints[0].ports[1].port: 0 is not a port',
      'endpoints[0].ports[1].proxyPort: 80 is not a proxy listener port',
      'endpoints[0].ports[1].peers[0]: has no rules and is not allowAll',
      'endpoints[1].endpointId: 0 is not an endpoint id',
      'endpoints[1].addresses[0]: "not-an-ip" is not an IP address',
    ]) assert.ok(m.includes(want), `missing ${want} in ${m}`);
    return true;
  });
});
