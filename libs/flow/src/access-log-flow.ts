// L7 flows from the node proxy's access records (cilium.proxy.v1 AccessLogRecord): one flow
// of type L7 per request and per response, as upstream Hubble's seven parser makes them from
// Cilium's access log: `l7` with type REQUEST / RESPONSE, latency (responses) and `http`
// (code, method, url, protocol, headers); verdict FORWARDED, or DROPPED for a request the
// rules denied (and its 403 answer), ERROR when the upstream failed; endpoints and identities
// resolved as for L3/L4 flows. A response flows from the server to the client (is_reply).
// A DNS record (the DNS listener's) gives `l7.dns` (query, ips, ttl, cnames, rcode, qtypes,
// rrtypes, observation source "proxy") over UDP or TCP and Cilium's DNS summary.
import { flow, proxy, type Timestamp } from '@cilium-ts/api';
import type { EndpointResolver } from './endpoint-resolver.js';
import { flowUuid, nextFlowSeq } from './flow-uuid.js';

/** Cilium's monitor message type of access log records (MessageTypeAccessLog). */
export const AccessLogEventType = 129;

const VERDICTS: Record<number, flow.Verdict> = {
  [proxy.Verdict.FORWARDED]: flow.Verdict.FORWARDED,
  [proxy.Verdict.DENIED]: flow.Verdict.DROPPED,
  [proxy.Verdict.ERROR]: flow.Verdict.ERROR,
};

/** The L7 flow of one access record seen on node `nodeName` (time: the record's, else `now`). */
export function accessLogFlow(r: proxy.AccessLogRecord, resolver: EndpointResolver, nodeName: string, now: () => Timestamp): flow.Flow {
  const response = r.type === 'response';
  const ingress = r.direction === proxy.TrafficDirection.INGRESS;
  // The endpoint of the record is the destination for ingress, the source for egress.
  const client = resolver.resolve(r.sourceAddress, r.sourceIdentity, ingress ? 0 : r.endpointId, 0);
  const server = resolver.resolve(r.destinationAddress, r.destinationIdentity, ingress ? r.endpointId : 0, 0);
  const [src, dst] = response ? [server, client] : [client, server];
  const [srcIp, dstIp] = response ? [r.destinationAddress, r.sourceAddress] : [r.sourceAddress, r.destinationAddress];
  const [srcPort, dstPort] = response ? [r.destinationPort, r.sourcePort] : [r.sourcePort, r.destinationPort];
  const http = r.http;
  const dns = r.dns;
  const host = http?.headers.find((h) => h.key.toLowerCase() === 'host')?.value || hostPort(r.destinationAddress, r.destinationPort);
  const url = http ? (/^[a-z]+:\/\//i.test(http.url) ? http.url : `http://${host}${http.url}`) : '';
  return flow.Flow.fromPartial({
    time: r.time ?? now(),
    uuid: flowUuid(nextFlowSeq()),
    verdict: VERDICTS[r.verdict] ?? flow.Verdict.VERDICT_UNKNOWN,
    IP: { source: srcIp, destination: dstIp, ipVersion: srcIp.includes(':') ? flow.IPVersion.IPv6 : flow.IPVersion.IPv4 },
    l4: dns?.transport === 'udp' ? { UDP: { sourcePort: srcPort, destinationPort: dstPort } } : { TCP: { sourcePort: srcPort, destinationPort: dstPort } },
    source: src,
    destination: dst,
    Type: flow.FlowType.L7,
    nodeName,
    eventType: { type: AccessLogEventType, subType: 0 },
    trafficDirection: ingress ? flow.TrafficDirection.INGRESS : flow.TrafficDirection.EGRESS,
    isReply: response,
    // As Cilium's seven parser: the compact line's text (`http-request FORWARDED (HTTP/1.1 GET http://...)`).
    Summary: http ? (response ? `${http.protocol} ${http.code} ${r.latencyNs / 1_000_000n}ms (${http.method} ${url})` : `${http.protocol} ${http.method} ${url}`) : dns ? dnsSummary(dns, response) : '',
    l7: {
      type: response ? flow.L7FlowType.RESPONSE : flow.L7FlowType.REQUEST,
      latencyNs: response ? r.latencyNs : 0n,
      http: http
        ? { code: response ? http.code : 0, method: http.method, url, protocol: http.protocol, headers: http.headers.map((h) => ({ key: h.key, value: h.value })) }
        : undefined,
      dns: dns
        ? { query: dns.query, ips: dns.ips, ttl: dns.ttl, cnames: dns.cnames, observationSource: 'proxy', rcode: dns.rcode, qtypes: dns.qtypes, rrtypes: dns.rrtypes }
        : undefined,
    },
  });
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** Cilium's seven parser summary of a DNS record: `DNS Query q A`, `DNS Answer "ips" TTL: n (Proxy q A)`, `DNS Answer RCode: REFUSED (Proxy q A)`. */
function dnsSummary(dns: proxy.DNSRecord, response: boolean): string {
  const types = dns.qtypes.join(',');
  if (!response) return `DNS Query ${dns.query} ${types}`;
  const answer = dns.rcode !== 0 ? `RCode: ${RCODES[dns.rcode] ?? String(dns.rcode)}` : `"${dns.ips.join(',')}" TTL: ${dns.ttl}`;
  return `DNS Answer ${answer} (Proxy ${dns.query} ${types})`;
}

function hostPort(address: string, port: number): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === 80 || port === 0 ? a : `${a}:${port}`;
}
