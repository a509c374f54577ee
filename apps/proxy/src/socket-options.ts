// The socket options Node has no API for, through libc (koffi): IP_TRANSPARENT on a
// listener (TPROXY hands it connections for other addresses) and SO_MARK on an upstream
// socket made before it connects (the datapath reads the source identity from the mark).
import net from 'node:net';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_MARK = 36;
const SOL_IP = 0;
const IP_TRANSPARENT = 19;
const SOL_IPV6 = 41;
const IPV6_TRANSPARENT = 75;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/** A libc socket call failed. */
export class SocketOptionError extends Error {
  constructor(readonly operation: string, readonly errno: number) {
    super(`${operation} failed: errno ${errno}${errno === 1 ? ' (EPERM: needs CAP_NET_ADMIN)' : ''}`);
    this.name = 'SocketOptionError';
  }
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: number[], len: number): number;
  close(fd: number): number;
  errno(): number;
}
let libc: Libc | undefined;
function lib(): Libc {
  if (!libc) {
    const so = koffi.load('libc.so.6');
    const errnoLocation = so.func('int *__errno_location()');
    libc = {
      socket: so.func('int socket(int domain, int type, int protocol)'),
      setsockopt: so.func('int setsockopt(int fd, int level, int name, _In_ int *value, uint32 len)'),
      close: so.func('int close(int fd)'),
      errno: () => koffi.decode(errnoLocation(), 'int') as number,
    };
  }
  return libc;
}

function setInt(fd: number, level: number, name: number, value: number, what: string): void {
  const l = lib();
  if (l.setsockopt(fd, level, name, [value], 4) !== 0) throw new SocketOptionError(what, l.errno());
}

/** Sets IP_TRANSPARENT (and IPV6_TRANSPARENT on an IPv6 socket) on a listening server. */
export function makeTransparent(server: net.Server): void {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new SocketOptionError('IP_TRANSPARENT (server has no file descriptor yet)', 0);
  const addr = server.address();
  if (addr && typeof addr === 'object' && addr.family === 'IPv6') setInt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1, 'setsockopt(IPV6_TRANSPARENT)');
  else setInt(fd, SOL_IP, IP_TRANSPARENT, 1, 'setsockopt(IP_TRANSPARENT)');
}

/** A TCP socket, not yet connected, whose packets carry skb->mark `mark`; connect it with `.connect()`. */
export function markedSocket(family: 4 | 6, mark: number): net.Socket {
  const l = lib();
  const fd = l.socket(family === 6 ? 10 : 2, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SocketOptionError('socket()', l.errno());
  try {
    setInt(fd, SOL_SOCKET, SO_MARK, mark | 0, 'setsockopt(SO_MARK)');
  } catch (err) {
    l.close(fd);
    throw err;
  }
  return new net.Socket({ fd, readable: true, writable: true });
}

/** Sets SO_MARK on an open socket's file descriptor (packets sent after it carry `mark`). */
export function setSocketMark(fd: number, mark: number): void {
  setInt(fd, SOL_SOCKET, SO_MARK, mark | 0, 'setsockopt(SO_MARK)');
}
