import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '@cilium-ts/process';
import { PolicyEngine, parsePolicyDocument, type PrefixChange } from '@cilium-ts/policy';
import { FqdnInputError, FqdnNameManager } from './fqdn-name-manager.js';

const logger = createLogger('test', { level: 'error' });
const rules = (names: unknown[]) =>
  parsePolicyDocument(JSON.stringify([{ endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toFQDNs: names, toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }], labels: ['test:fqdn'] }]));

test('learned IPs are in the ipcache and the endpoint policy when learn returns; the TTL (with the minimum) expires them; the cache survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fqdn-'));
  try {
    let now = 1_000_000;
    const engine = new PolicyEngine();
    engine.addRules(rules([{ matchName: 'allowed.example' }]));
    const h = engine.endpoint(['k8s:app=client']);
    const ipcache = new Map<string, number>();
    engine.onPrefixChange((c: PrefixChange) => {
      for (const p of c.deleted) ipcache.delete(p.prefix);
      for (const p of c.upserted) ipcache.set(p.prefix, p.identity);
    });
    const stateFile = join(dir, 'fqdn-cache.json');
    const m = new FqdnNameManager({ engine, minTtlSeconds: 2, stateFile, now: () => now, logger });

    m.learn({ endpointId: 7, name: 'Allowed.Example.', ips: ['192.0.2.10'], ttl: 0 });
    const id = ipcache.get('192.0.2.10/32');
    assert.ok(id !== undefined, 'the IP is in the ipcache before learn returns');
    assert.deepEqual(h.entries(), [{ direction: 'egress', identity: id, protocol: 6, port: 80, deny: false }]);
    // A name no selector matches is cached but gets no identity.
    m.learn({ endpointId: 7, name: 'denied.example.', ips: ['192.0.2.11'], ttl: 60 });
    assert.equal(ipcache.has('192.0.2.11/32'), false);
    assert.deepEqual(m.list({ endpointId: 7 }).map((e) => [e.name, e.ip, e.ttl]), [['allowed.example.', '192.0.2.10', 2], ['denied.example.', '192.0.2.11', 60]]);
    assert.deepEqual(m.list({ matchPattern: '*denied*' }).map((e) => e.ip), ['192.0.2.11']);

    // A rule selecting the other name: its IP gets the label at once.
    engine.addRules(rules([{ matchPattern: '*.example' }]).map((r) => ({ ...r, labels: ['test:fqdn2'] })));
    m.policyChanged();
    assert.ok(ipcache.has('192.0.2.11/32'));
    engine.deleteRules(['test:fqdn2']);
    m.policyChanged();
    assert.equal(ipcache.has('192.0.2.11/32'), false);

    // Bad input changes nothing.
    assert.throws(() => m.learn({ endpointId: 7, name: 'x.example', ips: ['not-an-ip'], ttl: 5 }), (e: unknown) => e instanceof FqdnInputError && e.field === 'ips');
    assert.throws(() => m.learn({ endpointId: 0, name: 'x.example', ips: ['192.0.2.1'], ttl: 5 }), (e: unknown) => e instanceof FqdnInputError && e.field === 'endpoint_id');
    assert.equal(m.list().length, 2);

    // Restart: a new engine and manager restore the entries still valid.
    await m.stop();
    assert.match(readFileSync(stateFile, 'utf8'), /allowed\.example\./);
    const engine2 = new PolicyEngine();
    engine2.addRules(rules([{ matchName: 'allowed.example' }]));
    const h2 = engine2.endpoint(['k8s:app=client']);
    const m2 = new FqdnNameManager({ engine: engine2, minTtlSeconds: 2, stateFile, now: () => now, logger });
    assert.equal(m2.restore(), 2);
    assert.equal(h2.entries().length, 1);

    // Expiry (the minimum TTL of 2 s): the IP leaves the policy.
    now += 2000;
    (m2 as unknown as { expireNow(): void }).expireNow();
    assert.deepEqual(h2.entries(), []);
    assert.deepEqual(m2.list().map((e) => e.ip), ['192.0.2.11']);
    assert.equal(m2.clean({ endpointId: 7 }), 1);
    assert.deepEqual(m2.list(), []);
    await m2.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
