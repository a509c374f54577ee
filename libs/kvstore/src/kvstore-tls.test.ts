// etcd as the lab runs it: TLS, client certificates required. A client with a certificate
// the CA signed reads and writes; one without a certificate, with a stranger's, or in
// plaintext is refused. Plus the flags' checks (pure).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OpensslPki, type CertFiles } from '@cilium-ts/grpc';
import { KvStoreConnectError } from './errors.js';
import { etcdHealthy } from './etcd-process.js';
import { KvStore } from './kvstore.js';
import { kvstoreTlsArgs, KvStoreTlsError, readKvStoreTls } from './kvstore-tls.js';
import { startTestEtcd, type TestEtcd } from './testing/test-etcd.js';

const dir = mkdtempSync(join(tmpdir(), 'cts-kvstore-tls-'));
const pki = new OpensslPki(dir);
const ca = pki.makeCa('etcd-ca', 2);
pki.makeCa('other-ca', 2);
const server = pki.issue({ name: 'etcd-server', ca: 'etcd-ca', ips: ['127.0.0.1'], dns: ['localhost'], usage: ['serverAuth', 'clientAuth'], days: 2 });
const client = pki.issue({ name: 'etcd-client', ca: 'etcd-ca', usage: ['clientAuth'], days: 2 });
const stranger = pki.issue({ name: 'stranger', ca: 'other-ca', usage: ['clientAuth'], days: 2 });
const withCert = (c: CertFiles) => ({ ca: ca.cert, cert: c.cert, key: c.key });
after(() => rmSync(dir, { recursive: true, force: true }));

describe('etcd with TLS and client certificates', () => {
  let etcd: TestEtcd;
  before(async () => {
    etcd = await startTestEtcd('tls', { tls: { caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile, probe: withCert(client) } });
  });
  after(async () => {
    await etcd?.stop();
  });

  test('a client with a certificate the CA signed writes and reads', async () => {
    assert.match(etcd.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'tls', tls: withCert(client), dialTimeoutMs: 3000 });
    try {
      await kv.put('tls/k', 'v');
      assert.equal(await kv.get('tls/k'), 'v');
    } finally {
      await kv.close();
    }
    assert.equal(await etcdHealthy(etcd.endpoint, 2000, withCert(client)), true);
  });

  test('a client without a certificate, with a stranger\'s, or in plaintext is refused', async () => {
    const http = etcd.endpoint.replace('https://', 'http://');
    const attempts: Array<[string, Parameters<typeof KvStore.connect>[0]]> = [
      ['no client certificate', { endpoints: [etcd.endpoint], tls: { ca: ca.cert } }],
      ['a certificate of another CA', { endpoints: [etcd.endpoint], tls: withCert(stranger) }],
      ['plaintext', { endpoints: [http] }],
    ];
    for (const [what, opts] of attempts) {
      await assert.rejects(KvStore.connect({ ...opts, dialTimeoutMs: 2000 }), (e: unknown) => e instanceof KvStoreConnectError, what);
    }
    assert.equal(await etcdHealthy(etcd.endpoint, 2000, { ca: ca.cert }), false, '/health without a client certificate');
    assert.equal(await etcdHealthy(http, 2000), false, '/health in plaintext');
  });
});

test('readKvStoreTls: files become PEM material; bad combinations name the flag', () => {
  const https = ['https://127.0.0.1:2379'];
  const none = { kvstoreTrustedCaFile: '', kvstoreCertFile: '', kvstoreKeyFile: '' };
  assert.equal(readKvStoreTls(none, ['http://127.0.0.1:2379']), undefined);
  const files = { kvstoreTrustedCaFile: ca.certFile, kvstoreCertFile: client.certFile, kvstoreKeyFile: client.keyFile };
  assert.deepEqual(readKvStoreTls(files, https), withCert(client));
  assert.deepEqual(kvstoreTlsArgs({ caFile: 'a', certFile: 'b', keyFile: 'c' }), ['--kvstore-trusted-ca-file', 'a', '--kvstore-cert-file', 'b', '--kvstore-key-file', 'c']);
  const fails = (f: typeof files, endpoints: string[], flag: string, msg: RegExp): void =>
    assert.throws(() => readKvStoreTls(f, endpoints), (e: unknown) => e instanceof KvStoreTlsError && e.flag === flag && msg.test(e.message));
  fails({ ...files, kvstoreKeyFile: '' }, https, '--kvstore-cert-file', /go together/);
  fails({ ...files, kvstoreCertFile: '' }, https, '--kvstore-key-file', /go together/);
  fails(files, ['http://127.0.0.1:2379'], '--kvstore-endpoints', /must be https/);
  fails({ ...files, kvstoreTrustedCaFile: join(dir, 'missing.crt') }, https, '--kvstore-trusted-ca-file', /cannot read --kvstore-trusted-ca-file/);
});
