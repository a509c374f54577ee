// L4 protocols: names accepted in rules and their IP protocol numbers.

/** IP protocol numbers used in policy entries (0 = any). */
export const Protocol = { ANY: 0, ICMP: 1, TCP: 6, UDP: 17, ICMPv6: 58, SCTP: 132 } as const;

/** A protocol name accepted in `toPorts[].ports[].protocol`. */
export type L4ProtocolName = 'TCP' | 'UDP' | 'SCTP' | 'ANY';

/** Protocols that `ANY` expands to in policy entries, in entry order. */
export const AnyExpandsTo: readonly number[] = [Protocol.TCP, Protocol.UDP, Protocol.SCTP];

/** Parses a toPorts protocol name (case-insensitive); undefined when unknown. */
export function parseL4Protocol(s: string): L4ProtocolName | undefined {
  const u = s.toUpperCase();
  return u === 'TCP' || u === 'UDP' || u === 'SCTP' || u === 'ANY' ? u : undefined;
}

/** The protocol number for a name (TCP 6, UDP 17, SCTP 132, ICMP 1, ICMPv6 58, ANY 0) or a decimal string. */
export function protocolNumber(p: string | number): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  const u = p.toUpperCase();
  if (u === 'ANY') return 0;
  if (u === 'TCP') return 6;
  if (u === 'UDP') return 17;
  if (u === 'SCTP') return 132;
  if (u === 'ICMP') return 1;
  if (u === 'ICMPV6') return 58;
  if (/^\d{1,3}$/.test(p)) return protocolNumber(Number(p));
  return undefined;
}

/** The display name of a protocol number (`TCP`, `UDP`, ..., `ANY` for 0, else the number). */
export function protocolName(n: number): string {
  switch (n) {
    case 0:
      return 'ANY';
    case 1:
      return 'ICMP';
    case 6:
      return 'TCP';
    case 17:
      return 'UDP';
    case 58:
      return 'ICMPv6';
    case 132:
      return 'SCTP';
    default:
      return String(n);
  }
}
