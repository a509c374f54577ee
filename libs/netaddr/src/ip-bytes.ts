// IP addresses as bytes (4 or 16, network order): the one parser of address text, and
// formatting the way Go's net.IP.String() does (so flows look like upstream Hubble's);
// CIDRs over bytes for packet decoding and IP filters.

/** Formats 4 bytes at `off` of `buf` as dotted-quad IPv4. */
export function formatIPv4(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/**
 * Formats 16 bytes at `off` of `buf` as canonical IPv6 (RFC 5952); an IPv4-mapped address as
 * dotted quad, like Go's net.IP, unless `mappedAsIPv4` is false (then as netip.Addr: ::ffff:…).
 */
export function formatIPv6(buf: Uint8Array, off = 0, mappedAsIPv4 = true): string {
  let mapped = mappedAsIPv4;
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) mapped = false;
  if (mapped && buf[off + 10] === 0xff && buf[off + 11] === 0xff) return formatIPv4(buf, off + 12);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16)).join(':');
  const tail = groups.slice(bestStart + bestLen).map((g) => g.toString(16)).join(':');
  return `${head}::${tail}`;
}

// Hot path (metadata lookups, IP filters): parsed by character codes, no splitting or regexes.
function parseIPv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      // '.' or the end: close the current part (1-3 digits, no leading zero, at most 255).
      if (digits === 0 || part > 3 || value > 255) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined;
      if (++digits > 3) return undefined;
      value = value * 10 + (c - 48);
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

function parseIPv6(s: string): Uint8Array | undefined {
  let text = s;
  const tailBytes: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tailBytes.push(...v4);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const groups = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (halves.length === 2 ? groups < 1 : head.length !== 8) return undefined;
  const all = [...head, ...new Array<number>(groups).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tailBytes.length === 4) out.set(tailBytes, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes; undefined when it is not an address. */
export function parseIP(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

/** A parsed CIDR prefix: network bytes (4 or 16) and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/** Parses `addr/len`; undefined when malformed or the length is out of range. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const bytes = parseIP(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!bytes || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > bytes.length * 8) return undefined;
  return { bytes, prefixLength };
}

/** Reports whether `ip` (4 or 16 bytes) lies inside `cidr`; an IPv4-mapped IPv6 address matches an IPv4 prefix. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  let addr = ip;
  if (cidr.bytes.length === 4 && ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) {
    addr = ip.subarray(12);
  }
  if (addr.length !== cidr.bytes.length) return false;
  let bits = cidr.prefixLength;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}
