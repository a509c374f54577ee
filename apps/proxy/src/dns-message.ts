// DNS messages on the wire (RFC 1035): the parser the DNS proxy decides on (header, the
// question, answer records with compression pointers) and the answers it makes itself
// (REFUSED for a denied query, FORMERR for a malformed one). Pure: no sockets.

/** DNS response codes the proxy uses or reports. */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Resource record types the proxy reads (others are kept by number). */
export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;

/** Largest DNS message over TCP (2-byte length prefix) and the UDP receive size the proxy accepts. */
export const MaxDnsMessage = 65535;

/** The message is not a well-formed DNS message; `offset` is where parsing stopped. */
export class DnsFormatError extends Error {
  constructor(readonly reason: string, readonly offset: number) {
    super(`malformed DNS message at byte ${offset}: ${reason}`);
    this.name = 'DnsFormatError';
  }
}

/** One question. */
export interface DnsQuestion {
  /** Lower-case, with a trailing dot (as Cilium/Hubble show names), "." for the root. */
  name: string;
  type: number;
  class: number;
}

/** One answer record the proxy understands (A/AAAA carry `ip`, CNAME carries `target`). */
export interface DnsAnswer {
  name: string;
  type: number;
  class: number;
  ttl: number;
  ip?: string;
  target?: string;
}

/** A parsed DNS message. */
export interface DnsMessage {
  id: number;
  /** True for a response (QR bit). */
  response: boolean;
  opcode: number;
  /** Recursion desired. */
  rd: boolean;
  rcode: number;
  questions: DnsQuestion[];
  /** The answer section (responses). */
  answers: DnsAnswer[];
}

const HEADER = 12;
const MaxPointerJumps = 64;

function u16(buf: Buffer, off: number, what: string): number {
  if (off + 2 > buf.length) throw new DnsFormatError(`truncated ${what}`, off);
  return buf.readUInt16BE(off);
}

/** Reads a (possibly compressed) name at `off`; returns it and the offset after it in the message. */
function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = off;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('truncated name', pos);
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 2 > buf.length) throw new DnsFormatError('truncated compression pointer', pos);
      if (++jumps > MaxPointerJumps) throw new DnsFormatError('compression pointer loop', pos);
      const target = buf.readUInt16BE(pos) & 0x3fff;
      if (next < 0) next = pos + 2;
      // Pointers must point backwards (RFC 1035 4.1.4 prior occurrence): no loops, no forward reads.
      if (target >= pos) throw new DnsFormatError('compression pointer does not point backwards', pos);
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`label type 0x${(len & 0xc0).toString(16)} is not supported`, pos);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new DnsFormatError('truncated label', pos);
    length += len + 1;
    if (length > 255) throw new DnsFormatError('name longer than 255 bytes', pos);
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, next };
}

function formatIp(buf: Buffer, off: number, len: number): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(off + i).toString(16));
  // Compress the longest run of zero groups (RFC 5952), as Node formats addresses.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/**
 * Parses a DNS message. Throws DnsFormatError (with the offset) for anything malformed:
 * short header, truncated or looping names, records past the end, A/AAAA of the wrong length.
 */
export function parseDnsMessage(buf: Buffer): DnsMessage {
  if (buf.length < HEADER) throw new DnsFormatError(`header needs ${HEADER} bytes, got ${buf.length}`, 0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const msg: DnsMessage = { id: buf.readUInt16BE(0), response: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, rcode: flags & 0xf, questions: [], answers: [] };
  let off = HEADER;
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, off);
    const type = u16(buf, next, 'question type');
    const klass = u16(buf, next + 2, 'question class');
    msg.questions.push({ name, type, class: klass });
    off = next + 4;
  }
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, off);
    const type = u16(buf, next, 'record type');
    const klass = u16(buf, next + 2, 'record class');
    if (next + 10 > buf.length) throw new DnsFormatError('truncated record header', next);
    const ttl = buf.readUInt32BE(next + 4);
    const rdlen = buf.readUInt16BE(next + 8);
    const rdata = next + 10;
    if (rdata + rdlen > buf.length) throw new DnsFormatError('record data past the end of the message', rdata);
    const rec: DnsAnswer = { name, type, class: klass, ttl };
    if (type === RRType.A || type === RRType.AAAA) {
      const want = type === RRType.A ? 4 : 16;
      if (rdlen !== want) throw new DnsFormatError(`${type === RRType.A ? 'A' : 'AAAA'} record of ${rdlen} bytes`, rdata);
      rec.ip = formatIp(buf, rdata, rdlen);
    } else if (type === RRType.CNAME) {
      const t = readName(buf, rdata);
      if (t.next > rdata + rdlen) throw new DnsFormatError('CNAME target past its record', rdata);
      rec.target = t.name;
    }
    msg.answers.push(rec);
    off = rdata + rdlen;
  }
  return msg;
}

/**
 * Checks that `msg` is a query the proxy can decide on: a standard query (opcode 0, QR
 * clear) with exactly one question. Returns the problem, or undefined when it is one.
 */
export function queryProblem(msg: DnsMessage): string | undefined {
  if (msg.response) return 'is a response, not a query';
  if (msg.opcode !== 0) return `opcode ${msg.opcode} is not a standard query`;
  if (msg.questions.length !== 1) return `has ${msg.questions.length} questions; a query has exactly one`;
  return undefined;
}

/** Length of the header and first question of `query` (its bytes are echoed in an answer), or the header alone when it has none that parses. */
function questionEnd(query: Buffer): number {
  if (query.length < HEADER || query.readUInt16BE(4) === 0) return HEADER;
  try {
    const { next } = readName(query, HEADER);
    return next + 4 <= query.length ? next + 4 : HEADER;
  } catch {
    return HEADER;
  }
}

/**
 * The proxy's own answer to `query` with `rcode` (REFUSED, FORMERR, SERVFAIL): the query's
 * id, opcode and RD, QR set, RA set, and the query's first question echoed when it parses
 * (none otherwise). Undefined when the query is too short to carry an id.
 */
export function dnsErrorResponse(query: Buffer, rcode: number): Buffer | undefined {
  if (query.length < 2) return undefined;
  const end = rcode === Rcode.FORMERR && query.length < HEADER ? HEADER : questionEnd(query);
  const out = Buffer.alloc(end);
  query.copy(out, 0, 0, Math.min(end, query.length));
  const flags = query.length >= 4 ? query.readUInt16BE(2) : 0;
  out.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0080 | (rcode & 0xf), 2);
  out.writeUInt16BE(end > HEADER ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/** Builds a query for `name` (tests and probes): id, one question of `type`, RD set. */
export function buildDnsQuery(id: number, name: string, type: number = RRType.A): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [Buffer.alloc(HEADER)];
  parts[0]!.writeUInt16BE(id, 0);
  parts[0]!.writeUInt16BE(0x0100, 2);
  parts[0]!.writeUInt16BE(1, 4);
  for (const l of labels) {
    if (l.length > 63) throw new DnsFormatError(`label ${JSON.stringify(l)} is longer than 63 bytes`, 0);
    parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}
