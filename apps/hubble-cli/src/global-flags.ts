import { FlagValues, type FlagSpec } from './args.js';
import { parseTimeoutMs, type ConnectOptions } from './connect.js';
import { parseGoDuration } from '@cilium-ts/process';

/** GLOBAL_FLAGS are accepted by every command (connection, TLS, debug). */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'server', kind: 'string', default: 'localhost:4245', env: 'HUBBLE_SERVER', help: 'Address of a Hubble server or relay: host:port, unix:///path or tls://host:port' },
  { name: 'timeout', kind: 'string', default: '5s', env: 'HUBBLE_TIMEOUT', help: 'Hubble server dialing timeout' },
  { name: 'tls', kind: 'bool', env: 'HUBBLE_TLS', help: 'Use TLS to connect to the server' },
  { name: 'tls-allow-insecure', kind: 'bool', env: 'HUBBLE_TLS_ALLOW_INSECURE', help: 'Skip verification of the server certificate and name' },
  { name: 'tls-ca-cert-files', kind: 'string', env: 'HUBBLE_TLS_CA_CERT_FILES', help: 'PEM CA certificates that replace the system roots (comma separated or repeated)' },
  { name: 'tls-client-cert-file', kind: 'string', env: 'HUBBLE_TLS_CLIENT_CERT_FILE', help: 'PEM client certificate for mutual TLS' },
  { name: 'tls-client-key-file', kind: 'string', env: 'HUBBLE_TLS_CLIENT_KEY_FILE', help: 'PEM client key for mutual TLS' },
  { name: 'tls-server-name', kind: 'string', env: 'HUBBLE_TLS_SERVER_NAME', help: 'Server name to verify and send as SNI' },
  { name: 'debug', short: 'D', kind: 'bool', env: 'HUBBLE_DEBUG', help: 'Enable debug messages' },
  { name: 'help', short: 'h', kind: 'bool', help: 'Show help' },
];

/** connectOptions reads the global connection flags. */
export function connectOptions(f: FlagValues): ConnectOptions {
  const caFiles = f.all('tls-ca-cert-files');
  const ca = (caFiles.length > 0 ? caFiles : [f.string('tls-ca-cert-files')]).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  return {
    server: f.string('server'),
    timeoutMs: parseTimeoutMs(f.string('timeout'), parseGoDuration),
    tls: f.bool('tls'),
    tlsAllowInsecure: f.bool('tls-allow-insecure'),
    tlsCaCertFiles: ca,
    tlsClientCertFile: f.string('tls-client-cert-file'),
    tlsClientKeyFile: f.string('tls-client-key-file'),
    tlsServerName: f.string('tls-server-name'),
  };
}

/** Io is where a command writes and what it knows about its environment (injected for tests). */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  /** Registers a handler for Ctrl-C; returns a function that removes it. */
  onInterrupt: (handler: () => void) => () => void;
}
