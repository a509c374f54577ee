// Test certificates made with openssl at test time: a CA, server certificates with the
// given DNS names, and a client certificate, in a temporary folder removed by cleanup().
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one certificate. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

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

/** Makes the certificates; `serverNames` become the server certificate's DNS SANs. */
export function makeTestCerts(serverNames: string[]): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'cts-test-certs-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => openssl('req', '-x509', ...ec, '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  const issue = (name: string, caName: string, ext: string): CertFiles => {
    openssl('req', ...ec, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.cnf`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
      '-days', '2', '-extfile', `${name}.cnf`, '-out', `${name}.crt`);
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  };
  try {
    ca('test-ca');
    ca('other-ca');
    const server = issue('server', 'test-ca', `subjectAltName=${serverNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\n`);
    const client = issue('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
    const strangerClient = issue('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
    const caFile = join(dir, 'test-ca.crt');
    return { dir, caFile, ca: readFileSync(caFile), server, client, strangerClient, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
