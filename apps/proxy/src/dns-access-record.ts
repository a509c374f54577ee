// A DNS access record (dns-listener.ts) as cilium.proxy.v1's AccessLogRecord with `dns` set:
// the query, the answer's addresses, smallest A/AAAA TTL, CNAMEs, rcode, question and record types.
import { proxy as api, timestampFromDate } from '@cilium-ts/api';
import { RRType } from './dns-message.js';
import type { DnsAccessRecord } from './dns-listener.js';

const VERDICT = { forwarded: api.Verdict.FORWARDED, denied: api.Verdict.DENIED, error: api.Verdict.ERROR } as const;
const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));

/** The name of a record type ("A", "AAAA", ..., "TYPE65" for others, as RFC 3597 writes them). */
export function rrTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** A DNS access record as the API sends it. */
export function dnsAccessLogRecord(r: DnsAccessRecord): api.AccessLogRecord {
  const c = r.context;
  const m = r.message;
  const addresses = (m?.answers ?? []).filter((a) => a.ip !== undefined);
  return api.AccessLogRecord.fromPartial({
    time: timestampFromDate(r.time),
    type: r.type,
    verdict: VERDICT[r.verdict],
    direction: api.TrafficDirection.EGRESS,
    endpointId: c?.endpointId ?? 0,
    sourceAddress: r.source.address,
    sourcePort: r.source.port,
    sourceIdentity: c?.source.identity ?? 0,
    destinationAddress: r.destination.address,
    destinationPort: r.destination.port,
    destinationIdentity: c?.destination.identity ?? 0,
    latencyNs: r.latencyNs,
    dns: {
      query: m?.questions[0]?.name ?? '',
      ips: addresses.map((a) => a.ip!),
      ttl: addresses.length > 0 ? Math.min(...addresses.map((a) => a.ttl)) : 0,
      cnames: (m?.answers ?? []).filter((a) => a.target !== undefined).map((a) => a.target!),
      rcode: r.rcode,
      qtypes: (m?.questions ?? []).map((q) => rrTypeName(q.type)),
      rrtypes: (m?.answers ?? []).map((a) => rrTypeName(a.type)),
      transport: r.protocol,
    },
  });
}
