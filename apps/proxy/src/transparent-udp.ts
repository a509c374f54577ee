// Transparent UDP through libc (koffi), which Node's dgram cannot do: a listener with
// IP_TRANSPARENT and IP_RECVORIGDSTADDR (TPROXY hands it datagrams addressed to other
// hosts, and recvmsg tells each one's original destination), and replies sent FROM that
// original destination (a socket bound to a non-local address, IP_TRANSPARENT), so the
// client sees its server answer. One worker thread waits in poll() for every socket; the
// datagrams are read on the main thread with non-blocking recvmsg.
import { isIP } from 'node:net';
import koffi from 'koffi';
import { SocketOptionError } from './socket-options.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SOL_IP = 0;
const IP_TRANSPARENT = 19;
const IP_RECVORIGDSTADDR = 20;
const SOL_IPV6 = 41;
const IPV6_V6ONLY = 26;
const IPV6_RECVORIGDSTADDR = 74;
const IPV6_TRANSPARENT = 75;
const MSG_DONTWAIT = 0x40;
const POLLIN = 1;
const POLL_MS = 200;

/** A UDP address. */
export interface UdpAddress {
  address: string;
  port: number;
}

/** One received datagram: who sent it, where it was going, its bytes. */
export interface TransparentDatagram {
  source: UdpAddress;
  /** The original destination (the listener's own address when not redirected). */
  destination: UdpAddress;
  payload: Buffer;
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: number[], len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number): number;
  recvmsg(fd: number, msg: unknown, flags: number): number;
  poll: ((fds: unknown, n: number, timeout: number) => number) & { async(fds: unknown, n: number, timeout: number, cb: (err: unknown, res: number) => void): void };
  close(fd: number): number;
}
let libc: Libc | undefined;
function lib(): Libc {
  if (!libc) {
    const so = koffi.load('libc.so.6');
    libc = {
      socket: so.func('int socket(int domain, int type, int protocol)'),
      setsockopt: so.func('int setsockopt(int fd, int level, int name, _In_ int *value, uint32 len)'),
      bind: so.func('int bind(int fd, const void *addr, uint32 len)'),
      sendto: so.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32 alen)'),
      recvmsg: so.func('intptr_t recvmsg(int fd, void *msg, int flags)'),
      poll: so.func('int poll(void *fds, uint64 n, int timeout)') as Libc['poll'],
      close: so.func('int close(int fd)'),
    };
  }
  return libc;
}

function check(rc: number, what: string): void {
  if (rc < 0) throw new SocketOptionError(what, koffi.errno());
}

/** sockaddr_in / sockaddr_in6 of an address. */
export function encodeSockaddr(a: UdpAddress): Buffer {
  if (isIP(a.address) === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(a.port, 2);
    a.address.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(a.port, 2);
  expandIPv6(a.address).copy(b, 8);
  return b;
}

function expandIPv6(address: string): Buffer {
  const out = Buffer.alloc(16);
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, -v4[1]!.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The address in a sockaddr_in / sockaddr_in6 at `off` (IPv4-mapped IPv6 as IPv4). */
export function decodeSockaddr(buf: Buffer, off: number): UdpAddress | undefined {
  const family = buf.readUInt16LE(off);
  const port = buf.readUInt16BE(off + 2);
  if (family === AF_INET) return { address: `${buf[off + 4]}.${buf[off + 5]}.${buf[off + 6]}.${buf[off + 7]}`, port };
  if (family !== AF_INET6) return undefined;
  const a = buf.subarray(off + 8, off + 24);
  if (a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff) return { address: `${a[12]}.${a[13]}.${a[14]}.${a[15]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(a.readUInt16BE(i).toString(16));
  return { address: compressIPv6(groups), port };
}

function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  return best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

// One receive area for recvmsg, used only on the main thread: msghdr at 0, iovec at 64,
// the source sockaddr at 128, control messages at 256, the datagram at 1024.
const NAME = 128;
const CONTROL = 256;
const CONTROL_LEN = 512;
const DATA = 1024;
const DATA_LEN = 65535;
const AREA = DATA + DATA_LEN;

/** A transparent UDP listener on one or more sockets (one per family); see the file comment. */
export class TransparentUdpListener {
  private readonly fds: number[] = [];
  private readonly area = koffi.alloc('uint8', AREA);
  private readonly view: Buffer;
  private readonly pollfds;
  private closing = false;
  private polling: Promise<void> | undefined;

  /**
   * Binds `port` on each of `hosts` (an IPv6 host is IPv6-only), with IP_TRANSPARENT when
   * `transparent` (needs CAP_NET_ADMIN), and calls onDatagram for every datagram.
   */
  constructor(hosts: readonly string[], readonly port: number, private readonly onDatagram: (d: TransparentDatagram) => void, transparent = true) {
    this.view = Buffer.from(koffi.view(this.area, AREA));
    const base = koffi.address(this.area);
    this.view.writeBigUInt64LE(base + BigInt(NAME), 0);
    this.view.writeBigUInt64LE(base + 64n, 16);
    this.view.writeBigUInt64LE(1n, 24);
    this.view.writeBigUInt64LE(base + BigInt(CONTROL), 32);
    this.view.writeBigUInt64LE(base + BigInt(DATA), 64);
    this.view.writeBigUInt64LE(BigInt(DATA_LEN), 72);
    const l = lib();
    try {
      for (const host of hosts) {
        const v6 = isIP(host) === 6;
        const fd = l.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        check(fd, 'socket(SOCK_DGRAM)');
        this.fds.push(fd);
        const set = (level: number, name: number, what: string): void => check(l.setsockopt(fd, level, name, [1], 4), `setsockopt(${what})`);
        set(SOL_SOCKET, SO_REUSEADDR, 'SO_REUSEADDR');
        if (v6) {
          set(SOL_IPV6, IPV6_V6ONLY, 'IPV6_V6ONLY');
          set(SOL_IPV6, IPV6_RECVORIGDSTADDR, 'IPV6_RECVORIGDSTADDR');
          if (transparent) set(SOL_IPV6, IPV6_TRANSPARENT, 'IPV6_TRANSPARENT');
        } else {
          set(SOL_IP, IP_RECVORIGDSTADDR, 'IP_RECVORIGDSTADDR');
          if (transparent) set(SOL_IP, IP_TRANSPARENT, 'IP_TRANSPARENT');
        }
        const sa = encodeSockaddr({ address: host, port });
        check(l.bind(fd, sa, sa.length), `bind(${host}:${port}/udp)`);
      }
    } catch (err) {
      for (const fd of this.fds) l.close(fd);
      koffi.free(this.area);
      throw err;
    }
    this.pollfds = koffi.alloc('uint8', 8 * this.fds.length);
    const pv = Buffer.from(koffi.view(this.pollfds, 8 * this.fds.length));
    this.fds.forEach((fd, i) => {
      pv.writeInt32LE(fd, i * 8);
      pv.writeInt16LE(POLLIN, i * 8 + 4);
    });
    this.polling = this.loop();
  }

  /** The bound addresses (host:port). */
  addresses(): string[] {
    return this.fds.map(() => `udp/${this.port}`);
  }

  private async loop(): Promise<void> {
    const l = lib();
    while (!this.closing) {
      const n = await new Promise<number>((resolve) => l.poll.async(this.pollfds, this.fds.length, POLL_MS, (err, res) => resolve(err ? -1 : res)));
      if (this.closing) break;
      if (n <= 0) continue;
      for (const fd of this.fds) this.drain(fd);
    }
  }

  private drain(fd: number): void {
    const l = lib();
    for (let i = 0; i < 256; i++) {
      this.view.writeUInt32LE(NAME, 8);
      this.view.writeBigUInt64LE(BigInt(CONTROL_LEN), 40);
      this.view.writeInt32LE(0, 48);
      const n = l.recvmsg(fd, this.area, MSG_DONTWAIT);
      // EAGAIN: drained; any other error is the socket's (ICMP errors of a reply): next poll.
      if (n < 0) return;
      const source = decodeSockaddr(this.view, NAME);
      const destination = this.origDst(Number(this.view.readBigUInt64LE(40))) ?? { address: '', port: this.port };
      if (!source) continue;
      this.onDatagram({ source, destination, payload: Buffer.from(this.view.subarray(DATA, DATA + n)) });
    }
  }

  /** The IP_ORIGDSTADDR / IPV6_ORIGDSTADDR control message among `len` bytes of control data. */
  private origDst(len: number): UdpAddress | undefined {
    let off = CONTROL;
    const end = CONTROL + Math.min(len, CONTROL_LEN);
    while (off + 16 <= end) {
      const cmsgLen = Number(this.view.readBigUInt64LE(off));
      const level = this.view.readInt32LE(off + 8);
      const type = this.view.readInt32LE(off + 12);
      if (cmsgLen < 16) return undefined;
      if ((level === SOL_IP && type === IP_RECVORIGDSTADDR) || (level === SOL_IPV6 && type === IPV6_RECVORIGDSTADDR)) return decodeSockaddr(this.view, off + 16);
      off += (cmsgLen + 7) & ~7;
    }
    return undefined;
  }

  /** Stops receiving and closes the sockets. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.polling;
    for (const fd of this.fds) lib().close(fd);
    koffi.free(this.area);
    koffi.free(this.pollfds);
  }
}

/**
 * Sends `payload` to `to` from `from` (any address, the original destination of a
 * redirected query: a transparent socket bound to it). Throws SocketOptionError.
 */
export function sendTransparent(from: UdpAddress, to: UdpAddress, payload: Buffer): void {
  const l = lib();
  const v6 = isIP(to.address) === 6;
  const fd = l.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(fd, 'socket(SOCK_DGRAM)');
  try {
    check(l.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, [1], 4), 'setsockopt(SO_REUSEADDR)');
    check(l.setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, [1], 4), v6 ? 'setsockopt(IPV6_TRANSPARENT)' : 'setsockopt(IP_TRANSPARENT)');
    const src = encodeSockaddr(from);
    check(l.bind(fd, src, src.length), `bind(${from.address}:${from.port}/udp)`);
    const dst = encodeSockaddr(to);
    check(l.sendto(fd, payload, payload.length, 0, dst, dst.length), `sendto(${to.address}:${to.port})`);
  } finally {
    l.close(fd);
  }
}
