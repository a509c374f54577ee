// The lab's certificates, made with openssl at every "up" as Cilium's Helm chart generates
// them: one CA for etcd (server, peer and the clients' certificate: agents, operator,
// hubble-servers and the lab's own tools) and one for Hubble (hubble-servers' mTLS
// certificate for *.<cluster>.hubble-grpc.cilium.io, the relay's client certificate, and
// the relay's server certificate used with --relay-tls). The CA keys are deleted once the
// certificates are issued; keys are mode 0600, the folder is readable so that a user can
// take the Hubble CA to talk TLS to the relay.
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { OpensslPki } from '@cilium-ts/grpc';
import type { KvStoreTls } from '@cilium-ts/kvstore';
import { cluster, type LabLayout } from './layout.js';

/** Names of the lab's certificates (files `<name>.crt` / `<name>.key` in layout.tlsDir). */
export const labCerts = {
  etcdCa: 'etcd-ca',
  /** etcd's server and peer certificate (127.0.0.1). */
  etcdServer: 'etcd-server',
  /** The certificate every etcd client of the lab presents. */
  etcdClient: 'etcd-client',
  hubbleCa: 'hubble-ca',
  /** Every hubble-server's certificate: *.<cluster>.hubble-grpc.cilium.io, the names Peer announces. */
  hubbleServer: 'hubble-server',
  /** The relay's client certificate towards hubble-servers. */
  relayClient: 'hubble-relay-client',
  /** The relay's server certificate (*.hubble-relay.cilium.io and 127.0.0.1), used with --relay-tls. */
  relayServer: 'hubble-relay-server',
} as const;

/** The TLS server name of node `node`'s hubble-server, as its Peer service announces it. */
export function hubbleServerTlsName(node: string): string {
  return `${node}.${cluster.name}.hubble-grpc.cilium.io`;
}

/** The relay's TLS server name (any name under *.hubble-relay.cilium.io verifies; upstream's CLI uses instance.hubble-relay.cilium.io). */
export const relayTlsName = 'instance.hubble-relay.cilium.io';

/** Makes every certificate of the lab in layout.tlsDir (replacing older ones). */
export function makeLabCerts(layout: LabLayout): void {
  rmSync(layout.tlsDir, { recursive: true, force: true });
  const pki = new OpensslPki(layout.tlsDir);
  pki.makeCa(labCerts.etcdCa);
  pki.issue({ name: labCerts.etcdServer, ca: labCerts.etcdCa, ips: ['127.0.0.1'], dns: ['localhost'], usage: ['serverAuth', 'clientAuth'] });
  pki.issue({ name: labCerts.etcdClient, ca: labCerts.etcdCa, usage: ['clientAuth'] });
  pki.makeCa(labCerts.hubbleCa);
  pki.issue({ name: labCerts.hubbleServer, ca: labCerts.hubbleCa, dns: [`*.${cluster.name}.hubble-grpc.cilium.io`], usage: ['serverAuth'] });
  pki.issue({ name: labCerts.relayClient, ca: labCerts.hubbleCa, usage: ['clientAuth'] });
  pki.issue({ name: labCerts.relayServer, ca: labCerts.hubbleCa, dns: ['*.hubble-relay.cilium.io'], ips: ['127.0.0.1'], usage: ['serverAuth'] });
  for (const ca of [labCerts.etcdCa, labCerts.hubbleCa]) rmSync(layout.cert(ca).keyFile, { force: true });
  chmodSync(layout.tlsDir, 0o755);
}

/** The etcd client material of the lab (for the lab's own tools: readiness, bench, tests). */
export function labEtcdClientTls(layout: LabLayout): Required<KvStoreTls> {
  const client = layout.cert(labCerts.etcdClient);
  return { ca: readFileSync(layout.cert(labCerts.etcdCa).certFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) };
}
