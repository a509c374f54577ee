import { isIP } from 'node:net';

/** Port a hubble-server listens on when a peer announces a bare IP (upstream default). */
export const DEFAULT_HUBBLE_PORT = 4244;

/** InvalidPeerAddressError says a peer or listen address could not be turned into a gRPC target. */
export class InvalidPeerAddressError extends Error {
  override readonly name = 'InvalidPeerAddressError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot use address "${address}": ${reason}; use ip, ip:port, host:port or unix:///path`);
  }
}

/**
 * toDialTarget turns an address as announced by peer.Peer/Notify or given on the command line
 * into a grpc-js target: a bare IP gets port 4244 (IPv6 bracketed), `ip:port`, `[v6]:port` and
 * `host:port` are kept, `unix:///path` and `unix:path` are kept and `/path` becomes `unix:///path`.
 */
export function toDialTarget(address: string, defaultPort: number = DEFAULT_HUBBLE_PORT): string {
  const a = address.trim();
  if (a === '') throw new InvalidPeerAddressError(address, 'it is empty');
  if (a.startsWith('unix://')) {
    if (a.length === 'unix://'.length) throw new InvalidPeerAddressError(address, 'the socket path is empty');
    return a;
  }
  if (a.startsWith('unix:')) return a;
  if (a.startsWith('/')) return `unix://${a}`;
  if (isIP(a) === 4) return `${a}:${defaultPort}`;
  if (isIP(a) === 6) return `[${a}]:${defaultPort}`;
  if (a.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
    if (!m || isIP(m[1]) !== 6) throw new InvalidPeerAddressError(address, 'the bracketed IPv6 address is malformed');
    return `[${m[1]}]:${m[2] ?? defaultPort}`;
  }
  const colon = a.lastIndexOf(':');
  if (colon < 0) return `${a}:${defaultPort}`;
  const port = a.slice(colon + 1);
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new InvalidPeerAddressError(address, `"${port}" is not a port number`);
  if (colon === 0) throw new InvalidPeerAddressError(address, 'the host is empty');
  return a;
}

/** ListenAddress is one address the relay binds, in the form grpc-js's Server.bindAsync expects. */
export function toListenTarget(address: string): string {
  const a = address.trim();
  if (a.startsWith('unix:') || a.startsWith('/')) return toDialTarget(a);
  if (a.startsWith(':')) return `0.0.0.0${a}`;
  return toDialTarget(a, 4245);
}
