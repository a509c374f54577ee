// CIDR prefixes: parsing (IPv4 / IPv6), containment, and the fromCIDR / fromCIDRSet peers.

import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** A parsed prefix: family, network address as a bigint (host bits zeroed), prefix length. */
export interface Prefix {
  family: 4 | 6;
  addr: bigint;
  bits: number;
}

/** A CIDR peer in a rule: `cidr` with optional `except` sub-prefixes. */
export interface CIDRRule {
  cidr: string;
  except?: string[];
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  let str = s;
  if (str.includes('.')) {
    const i = str.lastIndexOf(':');
    const v4 = parseIPv4(str.slice(i + 1));
    if (v4 === undefined || i < 0) return undefined;
    str = `${str.slice(0, i + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let all: bigint[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    all = [...head, ...Array<bigint>(8 - head.length - rest.length).fill(0n), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an IP address; undefined when malformed. */
export function parseIP(s: string): { family: 4 | 6; addr: bigint } | undefined {
  if (s.includes(':')) {
    const a = parseIPv6(s);
    return a === undefined ? undefined : { family: 6, addr: a };
  }
  const a = parseIPv4(s);
  return a === undefined ? undefined : { family: 4, addr: a };
}

/**
 * Parses `addr/bits` (or a bare address, as a host prefix). Host bits must be zero, as in
 * Cilium's CRD validation. Returns a reason string when malformed. IPv6 may use '-' for ':'
 * (the form CIDR labels use).
 */
export function parsePrefix(s: string): Prefix | string {
  const slash = s.indexOf('/');
  let addrStr = slash >= 0 ? s.slice(0, slash) : s;
  if (!addrStr.includes('.') && !addrStr.includes(':') && addrStr.includes('-')) addrStr = addrStr.replaceAll('-', ':');
  const ip = parseIP(addrStr);
  if (!ip) return `${JSON.stringify(s)} is not a valid CIDR (an IPv4 or IPv6 address with an optional /prefix length)`;
  const max = ip.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) return `${JSON.stringify(s)} has an invalid prefix length (0-${max})`;
    bits = Number(b);
  }
  const hostMask = (1n << BigInt(max - bits)) - 1n;
  if ((ip.addr & hostMask) !== 0n) {
    return `${JSON.stringify(s)} has host bits set; use the network address ${formatPrefix({ family: ip.family, addr: ip.addr & ~hostMask, bits })}`;
  }
  return { family: ip.family, addr: ip.addr, bits };
}

/** Formats a prefix as `addr/bits`. */
export function formatPrefix(p: Prefix): string {
  if (p.family === 4) {
    const o = [24n, 16n, 8n, 0n].map((sh) => String((p.addr >> sh) & 0xffn));
    return `${o.join('.')}/${p.bits}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((p.addr >> BigInt(i * 16)) & 0xffffn).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `${text}/${p.bits}`;
}

/** True when prefix `inner` lies inside `outer` (same family, longer or equal prefix). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.bits < outer.bits) return false;
  const max = outer.family === 4 ? 32 : 128;
  const shift = BigInt(max - outer.bits);
  return inner.addr >> shift === outer.addr >> shift;
}

/** Validates a `fromCIDR` / `toCIDR` entry; returns the normalized CIDR rule. */
export function validateCIDR(raw: unknown, path: string, issues: IssueCollector): CIDRRule | undefined {
  if (typeof raw !== 'string') {
    issues.add(path, `must be a CIDR string, got ${describeType(raw)}`);
    return undefined;
  }
  const p = parsePrefix(raw);
  if (typeof p === 'string') {
    issues.add(path, p);
    return undefined;
  }
  return { cidr: formatPrefix(p) };
}

/** Validates a `fromCIDRSet` / `toCIDRSet` entry {cidr, except}. */
export function validateCIDRSetEntry(raw: unknown, path: string, issues: IssueCollector): CIDRRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {cidr, except}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['cidr', 'except'], issues, ['cidrGroupRef', 'cidrGroupSelector']);
  const before = issues.count;
  let outer: Prefix | undefined;
  if (raw.cidr === undefined) issues.add(joinPath(path, 'cidr'), 'is required');
  else if (typeof raw.cidr !== 'string') issues.add(joinPath(path, 'cidr'), `must be a CIDR string, got ${describeType(raw.cidr)}`);
  else {
    const p = parsePrefix(raw.cidr);
    if (typeof p === 'string') issues.add(joinPath(path, 'cidr'), p);
    else outer = p;
  }
  const except: string[] = [];
  if (raw.except !== undefined && raw.except !== null) {
    const ep = joinPath(path, 'except');
    if (!Array.isArray(raw.except)) issues.add(ep, `must be a list of CIDRs, got ${describeType(raw.except)}`);
    else {
      raw.except.forEach((e, i) => {
        const ip = joinPath(ep, i);
        if (typeof e !== 'string') {
          issues.add(ip, `must be a CIDR string, got ${describeType(e)}`);
          return;
        }
        const p = parsePrefix(e);
        if (typeof p === 'string') issues.add(ip, p);
        else if (outer && !prefixContains(outer, p)) issues.add(ip, `${JSON.stringify(e)} is not inside cidr ${raw.cidr as string}`);
        else except.push(formatPrefix(p));
      });
    }
  }
  if (issues.count !== before || !outer) return undefined;
  const out: CIDRRule = { cidr: formatPrefix(outer) };
  if (except.length > 0) out.except = except;
  return out;
}
