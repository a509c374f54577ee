// Listen addresses: `unix:///abs/path` (or a bare absolute path) and `host:port`;
// preparing a unix socket path (parent folder, stale socket) before binding.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';

/** A parsed listen or dial address. */
export type ParsedAddress =
  | { kind: 'unix'; path: string; target: string }
  | { kind: 'tcp'; host: string; port: number; target: string };

/** An address that cannot be listened on or dialled. */
export class AddressError extends Error {
  readonly address: string;

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AddressError';
    this.address = address;
  }
}

/**
 * Parses `unix:///abs/path`, `unix:/abs/path`, `/abs/path` (unix socket), `host:port`,
 * `[v6]:port`. `target` is the form grpc-js binds or dials.
 */
export function parseAddress(address: string): ParsedAddress {
  let path: string | undefined;
  if (address.startsWith('unix://')) path = address.slice('unix://'.length);
  else if (address.startsWith('unix:')) path = address.slice('unix:'.length);
  else if (address.startsWith('/')) path = address;
  if (path !== undefined) {
    if (!isAbsolute(path)) {
      throw new AddressError(address, `unix socket address "${address}" must use an absolute path, e.g. unix:///var/run/cilium/cilium.sock`);
    }
    return { kind: 'unix', path, target: `unix://${path}` };
  }
  const m = address.match(/^(\[[^\]]+\]|[^:[\]]*):(\d+)$/);
  if (!m) {
    throw new AddressError(address, `address "${address}" is neither host:port nor unix:///absolute/path`);
  }
  const port = Number(m[2]);
  if (port > 65535) throw new AddressError(address, `port ${port} in "${address}" is out of range 0-65535`);
  const host = m[1] === '' ? '0.0.0.0' : m[1]!;
  return { kind: 'tcp', host, port, target: `${host}:${port}` };
}

function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` ready to bind: creates its parent folder and removes a stale socket left
 * by a previous run. Refuses to remove anything that is not a socket, or a socket some
 * process still serves.
 */
export async function prepareUnixSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new AddressError(path, `cannot listen on ${path}: a file that is not a socket is in the way; remove it or choose another path`);
  }
  if (await socketIsLive(path)) {
    throw new AddressError(path, `cannot listen on ${path}: another process is serving it; stop that process or choose another path`);
  }
  await unlink(path);
}

/** Removes a unix socket file if it exists (only sockets are removed). */
export async function removeUnixSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
