// Upstream-style one-line flow summaries (`TCP Flags: SYN, ACK`, `UDP`, `ICMPv4 EchoRequest`).
import { icmpv4TypeCodeName, icmpv6TypeCodeName } from './icmp-names.js';
import type { DecodedPacket, TcpFlagBits } from './packet.js';

const FLAG_ORDER: (keyof TcpFlagBits)[] = ['SYN', 'ACK', 'RST', 'FIN', 'PSH', 'URG', 'ECE', 'CWR', 'NS'];

const flagsTextCache = new Map<number, string>();

/** TCP flags joined in upstream order, e.g. `SYN, ACK`. */
export function tcpFlagsText(flags: TcpFlagBits): string {
  let mask = 0;
  for (let i = 0; i < FLAG_ORDER.length; i++) if (flags[FLAG_ORDER[i]!]) mask |= 1 << i;
  let text = flagsTextCache.get(mask);
  if (text === undefined) {
    text = FLAG_ORDER.filter((f) => flags[f]).join(', ');
    flagsTextCache.set(mask, text);
  }
  return text;
}

/** The Summary of an L3/L4 flow decoded from `packet`. */
export function summarize(packet: DecodedPacket): string {
  const l4 = packet.l4;
  if (l4) {
    switch (l4.kind) {
      case 'tcp':
        return `TCP Flags: ${tcpFlagsText(l4.flags)}`;
      case 'udp':
        return 'UDP';
      case 'sctp':
        return 'SCTP';
      case 'icmpv4':
        return `ICMPv4 ${icmpv4TypeCodeName(l4.type, l4.code)}`;
      case 'icmpv6':
        return `ICMPv6 ${icmpv6TypeCodeName(l4.type, l4.code)}`;
    }
  }
  return packet.layers[packet.layers.length - 1] ?? '';
}
