// A small certificate authority made with openssl: CAs and the server, client and peer
// certificates they sign, as PEM files in one folder (keys mode 0600). The lab makes its
// etcd and Hubble certificates with it, as Cilium's Helm chart generates them; tests make
// throwaway ones (testing/test-certs.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files of one certificate and its key. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** What a certificate is for, as extendedKeyUsage. */
export type CertUsage = 'serverAuth' | 'clientAuth';

/** A certificate to issue. */
export interface CertRequest {
  /** Base name of the files (`<name>.crt`, `<name>.key`) and the subject's CN. */
  name: string;
  /** Base name of the signing CA (made by makeCa in the same folder). */
  ca: string;
  /** DNS subject alternative names. */
  dns?: string[];
  /** IP subject alternative names. */
  ips?: string[];
  usage: CertUsage[];
  /** Validity in days (default 365). */
  days?: number;
}

/** openssl failed: which certificate, and openssl's own words. */
export class PkiError extends Error {
  readonly certificate: string;

  constructor(certificate: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
    this.certificate = certificate;
  }
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A folder of CAs and certificates made with openssl. */
export class OpensslPki {
  /** dir is created (mode 0700) when missing. */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private openssl(what: string, args: string[]): void {
    try {
      execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
      throw new PkiError(what, `openssl could not make ${what} in ${this.dir}: ${stderr || (err as Error).message}`, { cause: err });
    }
  }

  private files(name: string): CertFiles {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    chmodSync(keyFile, 0o600);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }

  private checkName(name: string): void {
    if (!namePattern.test(name)) throw new PkiError(name, `certificate name "${name}" must be letters, digits, ".", "_" or "-"`);
  }

  /** Makes a self-signed CA `<name>.crt` / `<name>.key`. */
  makeCa(name: string, days = 365): CertFiles {
    this.checkName(name);
    this.openssl(`CA ${name}`, ['req', '-x509', ...ecKey, '-days', String(days), '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', `${name}.key`, '-out', `${name}.crt`]);
    return this.files(name);
  }

  /** Issues a certificate signed by CA `req.ca`. */
  issue(req: CertRequest): CertFiles {
    this.checkName(req.name);
    this.checkName(req.ca);
    if (req.usage.length === 0) throw new PkiError(req.name, `certificate ${req.name}: give at least one usage (serverAuth, clientAuth)`);
    const sans = [...(req.dns ?? []).map((d) => `DNS:${d}`), ...(req.ips ?? []).map((ip) => `IP:${ip}`)];
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${req.usage.join(',')}`,
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
    ];
    writeFileSync(join(this.dir, `${req.name}.ext`), ext.join('\n') + '\n');
    this.openssl(`certificate ${req.name}`, ['req', ...ecKey, '-subj', `/CN=${req.name}`, '-keyout', `${req.name}.key`, '-out', `${req.name}.csr`]);
    this.openssl(`certificate ${req.name}`, ['x509', '-req', '-in', `${req.name}.csr`, '-CA', `${req.ca}.crt`, '-CAkey', `${req.ca}.key`,
      '-CAcreateserial', '-days', String(req.days ?? 365), '-extfile', `${req.name}.ext`, '-out', `${req.name}.crt`]);
    return this.files(req.name);
  }
}
