// The lab's Hubble UI (apps/hubble-ui): on the machine's loopback (a process, or its
// container in a podman lab), reading the lab's relay (over TLS with the lab's Hubble CA
// when the relay serves TLS). Started after the relay, stopped first, listed by status like
// every service.
import { labCerts, relayTlsName } from './lab-certs.js';
import { appMain, LabLayout, ports } from './layout.js';
import type { ServiceSpec } from './service-spec.js';

/** The UI's page address. */
export function uiUrl(): string {
  return `http://127.0.0.1:${ports.hubbleUi}/`;
}

/** uiSpec is the hubble-ui service of a lab. */
export function uiSpec(layout: LabLayout, relayTls = false): ServiceSpec {
  return {
    name: 'hubble-ui',
    role: 'hubble-ui',
    argv: [
      process.execPath, appMain('hubble-ui'),
      '--listen-address', `127.0.0.1:${ports.hubbleUi}`,
      '--relay-address', layout.relayAddress,
      ...(relayTls ? ['--tls-ca-cert-files', layout.cert(labCerts.hubbleCa).certFile, '--tls-server-name', relayTlsName] : []),
    ],
    logFile: layout.logFile('hubble-ui'),
    address: `127.0.0.1:${ports.hubbleUi}`,
    ready: { kind: 'tcp', host: '127.0.0.1', port: ports.hubbleUi },
    readyTimeoutSec: 20,
  };
}
