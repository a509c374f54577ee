// Test certificates made with openssl at test time: a CA, server certificates with the
// given DNS names, and a client certificate, in a temporary folder removed by cleanup().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CertFiles, OpensslPki } from '../pki.js';

export type { CertFiles } from '../pki.js';

/** A CA with server and client certificates it signed, plus a second, untrusted CA's client. */
export interface TestCerts {
  dir: string;
  caFile: string;
  ca: Buffer;
  server: CertFiles;
  client: CertFiles;
  /** A client certificate signed by another CA (must be refused under mTLS). */
  strangerClient: CertFiles;
  cleanup(): void;
}

/** Makes the certificates; `serverNames` become the server certificate's DNS SANs, `serverIps` its IP SANs. */
export function makeTestCerts(serverNames: string[], serverIps: string[] = []): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'cts-test-certs-'));
  try {
    const pki = new OpensslPki(dir);
    const ca = pki.makeCa('test-ca', 2);
    pki.makeCa('other-ca', 2);
    const server = pki.issue({ name: 'server', ca: 'test-ca', dns: serverNames, ips: serverIps, usage: ['serverAuth'], days: 2 });
    const client = pki.issue({ name: 'client', ca: 'test-ca', usage: ['clientAuth'], days: 2 });
    const strangerClient = pki.issue({ name: 'stranger', ca: 'other-ca', usage: ['clientAuth'], days: 2 });
    return { dir, caFile: ca.certFile, ca: ca.cert, server, client, strangerClient, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
