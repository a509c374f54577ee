// TLS to etcd: the CA that signed etcd's certificate and this client's certificate and
// key, as Cilium's etcd.config names them (trusted-ca-file, cert-file, key-file). Every
// daemon that talks to etcd takes the same three flags; a file that cannot be read or a
// TLS setting with a plaintext endpoint is a clear error before anything connects.
import { readFileSync } from 'node:fs';

/** PEM material of a TLS connection to etcd (contents, not paths). */
export interface KvStoreTls {
  /** CA bundle that verifies etcd's certificate (default: the system roots). */
  ca?: Buffer | string;
  /** Client certificate and key, presented to an etcd run with --client-cert-auth. */
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** Paths of the PEM files, as the flags give them ('' = not given). */
export interface KvStoreTlsFiles {
  kvstoreTrustedCaFile: string;
  kvstoreCertFile: string;
  kvstoreKeyFile: string;
}

/** The kvstore TLS flags every daemon that talks to etcd defines (spread into its flag specs). */
export const kvstoreTlsFlags = {
  kvstoreTrustedCaFile: {
    type: 'string',
    env: 'CILIUM_KVSTORE_TRUSTED_CA_FILE',
    description: 'PEM CA bundle that verifies etcd\'s certificate (etcd.config trusted-ca-file); needs https:// endpoints',
  },
  kvstoreCertFile: {
    type: 'string',
    env: 'CILIUM_KVSTORE_CERT_FILE',
    description: 'PEM client certificate presented to etcd (etcd.config cert-file), with --kvstore-key-file',
  },
  kvstoreKeyFile: {
    type: 'string',
    env: 'CILIUM_KVSTORE_KEY_FILE',
    description: 'PEM private key of --kvstore-cert-file (etcd.config key-file)',
  },
} as const;

/** Kvstore TLS settings that cannot work: names the flag at fault. */
export class KvStoreTlsError extends Error {
  override readonly name = 'KvStoreTlsError';
  constructor(
    readonly flag: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Reads the PEM files the flags name; undefined when none is given. Throws KvStoreTlsError
 * when only one of certificate and key is given, a file cannot be read, or an endpoint is
 * plaintext (http://) while TLS is configured.
 */
export function readKvStoreTls(files: KvStoreTlsFiles, endpoints: readonly string[]): KvStoreTls | undefined {
  const { kvstoreTrustedCaFile: caFile, kvstoreCertFile: certFile, kvstoreKeyFile: keyFile } = files;
  if ((certFile === '') !== (keyFile === '')) {
    throw new KvStoreTlsError(certFile === '' ? '--kvstore-key-file' : '--kvstore-cert-file',
      '--kvstore-cert-file and --kvstore-key-file go together; give both or neither');
  }
  if (caFile === '' && certFile === '') return undefined;
  const plain = endpoints.filter((e) => !e.trim().startsWith('https://'));
  if (plain.length > 0) {
    throw new KvStoreTlsError('--kvstore-endpoints',
      `--kvstore-endpoints ${plain.join(',')}: TLS is configured (--kvstore-trusted-ca-file / --kvstore-cert-file), so every endpoint must be https://`);
  }
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new KvStoreTlsError(flag, `cannot read ${flag} "${file}": ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    ...(caFile ? { ca: read('--kvstore-trusted-ca-file', caFile) } : {}),
    ...(certFile ? { cert: read('--kvstore-cert-file', certFile), key: read('--kvstore-key-file', keyFile) } : {}),
  };
}

/** The flags' arguments for a set of PEM files (the inverse of readKvStoreTls, for command lines). */
export function kvstoreTlsArgs(files: { caFile: string; certFile: string; keyFile: string }): string[] {
  return ['--kvstore-trusted-ca-file', files.caFile, '--kvstore-cert-file', files.certFile, '--kvstore-key-file', files.keyFile];
}
