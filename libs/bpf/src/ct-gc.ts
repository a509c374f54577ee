// Connection tracking lifetimes: which CT entries have expired. Pure (no kernel access);
// Datapath.ctGc applies it to the pinned `ct` map.
import type { CtKey, CtValue } from './map-codecs.js';

/** CT lifetimes in seconds after the last packet, by state (Cilium's defaults). */
export interface CtTimeouts {
  /** TCP after a FIN or RST was seen (closing). */
  tcpClose: number;
  /** TCP before the peer answered (SYN sent, no reply yet). */
  tcpSyn: number;
  /** TCP with traffic in both directions. */
  tcpEstablished: number;
  /** UDP, SCTP, ICMP and anything else. */
  nonTcp: number;
}

/** Cilium's default lifetimes (seconds). */
export const DEFAULT_CT_TIMEOUTS: CtTimeouts = { tcpClose: 10, tcpSyn: 60, tcpEstablished: 21600, nonTcp: 60 };

const TCP_FIN = 0x01;
const TCP_RST = 0x04;

/** Connection state derived from the protocol and the TCP flags seen in both directions. */
export type CtState = 'tcp-closing' | 'tcp-syn' | 'tcp-established' | 'non-tcp';

/** The state of an entry. */
export function ctState(key: Pick<CtKey, 'protocol'>, value: Pick<CtValue, 'tcpFlagsSeen' | 'seenReply'>): CtState {
  if (key.protocol !== 6) return 'non-tcp';
  if (value.tcpFlagsSeen & (TCP_FIN | TCP_RST)) return 'tcp-closing';
  return value.seenReply ? 'tcp-established' : 'tcp-syn';
}

/** Lifetime of an entry in ns after its last packet. */
export function ctLifetimeNs(key: Pick<CtKey, 'protocol'>, value: Pick<CtValue, 'tcpFlagsSeen' | 'seenReply'>, t: CtTimeouts = DEFAULT_CT_TIMEOUTS): bigint {
  const s = ctState(key, value);
  const seconds = s === 'tcp-closing' ? t.tcpClose : s === 'tcp-syn' ? t.tcpSyn : s === 'tcp-established' ? t.tcpEstablished : t.nonTcp;
  return BigInt(Math.round(seconds * 1e9));
}

/** Whether an entry has expired at nowNs (CLOCK_MONOTONIC, as bpf_ktime_get_ns). */
export function ctExpired(key: Pick<CtKey, 'protocol'>, value: Pick<CtValue, 'tcpFlagsSeen' | 'seenReply' | 'lastSeenNs'>, nowNs: bigint, t: CtTimeouts = DEFAULT_CT_TIMEOUTS): boolean {
  return nowNs - value.lastSeenNs > ctLifetimeNs(key, value, t);
}
