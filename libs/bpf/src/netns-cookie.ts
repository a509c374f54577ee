// The cookie the kernel gives a network namespace (SO_NETNS_COOKIE, the value of
// bpf_get_netns_cookie() in socket programs): the socket load balancer's trace records
// name a pod by it. Read by entering the namespace on this thread for one socket() call
// (setns(CLONE_NEWNET) is per thread and allowed in a threaded process), then returning.
import koffi from 'koffi';
import { closeSync, openSync } from 'node:fs';
import { BpfError } from './errors.js';

const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const CLONE_NEWNET = 0x40000000;

interface Libc {
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Uint32Array): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const so = koffi.load('libc.so.6');
  libc = {
    setns: so.func('int setns(int fd, int nstype)'),
    socket: so.func('int socket(int domain, int type, int protocol)'),
    getsockopt: so.func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)'),
    close: so.func('int close(int fd)'),
    errno: () => koffi.errno(),
  } as unknown as Libc;
  return libc;
}

function socketCookie(c: Libc, op: string): bigint {
  const fd = c.socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0) throw new BpfError(`${op}: socket()`, c.errno());
  try {
    const value = Buffer.alloc(8);
    const len = new Uint32Array([8]);
    if (c.getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, value, len) !== 0) {
      throw new BpfError(`${op}: getsockopt(SO_NETNS_COOKIE)`, c.errno(), { hint: 'needs Linux 5.14 or later' });
    }
    return value.readBigUInt64LE(0);
  } finally {
    c.close(fd);
  }
}

/**
 * The netns cookie of the network namespace at `path` (e.g. /var/run/netns/X or
 * /proc/PID/ns/net); of this thread's own namespace without a path. Throws BpfError when
 * the namespace cannot be entered (needs CAP_SYS_ADMIN) or the kernel has no netns cookies.
 */
export function netnsCookie(path?: string): bigint {
  const c = lib();
  const op = `read the netns cookie of ${path ?? 'this namespace'}`;
  if (path === undefined) return socketCookie(c, op);
  const self = openSync('/proc/thread-self/ns/net', 'r');
  try {
    let target: number;
    try {
      target = openSync(path, 'r');
    } catch (err) {
      throw new BpfError(`${op}: open ${path}`, Math.abs((err as NodeJS.ErrnoException).errno ?? 2), { cause: err, hint: 'is it a network namespace file (ip netns, /proc/PID/ns/net)?' });
    }
    try {
      if (c.setns(target, CLONE_NEWNET) !== 0) throw new BpfError(`${op}: setns`, c.errno(), { hint: 'needs CAP_SYS_ADMIN and a network namespace file' });
    } finally {
      closeSync(target);
    }
    try {
      return socketCookie(c, op);
    } finally {
      if (c.setns(self, CLONE_NEWNET) !== 0) throw new BpfError(`${op}: setns back to this thread's namespace`, c.errno());
    }
  } finally {
    closeSync(self);
  }
}
