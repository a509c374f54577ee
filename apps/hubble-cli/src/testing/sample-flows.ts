// Flows matching the verified compact samples of HUBBLE-API.md §2.0.
import { flow } from '@cilium-ts/api';

/** at returns 2021-12-01T10:00:0<s>.123Z as a Timestamp. */
export function at(s: number, nanos = 123_000_000): { seconds: bigint; nanos: number } {
  return { seconds: BigInt(Date.UTC(2021, 11, 1, 10, 0, s) / 1000), nanos };
}

/** tcpFlow: default/xwing:43210 -> default/deathstar-1:80 to-endpoint FORWARDED (TCP Flags: SYN). */
export const tcpFlow = flow.Flow.fromPartial({
  time: at(0),
  verdict: flow.Verdict.FORWARDED,
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: flow.IPVersion.IPv4 },
  l4: { TCP: { sourcePort: 43210, destinationPort: 80, flags: { SYN: true } } },
  source: { namespace: 'default', podName: 'xwing', identity: 1234 },
  destination: { namespace: 'default', podName: 'deathstar-1', identity: 5678 },
  Type: flow.FlowType.L3_L4,
  nodeName: 'kind-worker',
  eventType: { type: 4, subType: 0 },
  isReply: false,
  traceObservationPoint: flow.TraceObservationPoint.TO_ENDPOINT,
  Summary: 'TCP Flags: SYN',
});

/** udpReplyDrop: api.cilium.io:5353 <- kube-system/coredns-1:53 Policy denied DROPPED (UDP). */
export const udpReplyDrop = flow.Flow.fromPartial({
  time: at(1),
  verdict: flow.Verdict.DROPPED,
  dropReason: 133,
  dropReasonDesc: flow.DropReason.POLICY_DENIED,
  IP: { source: '10.0.0.53', destination: '1.2.3.4', ipVersion: flow.IPVersion.IPv4 },
  l4: { UDP: { sourcePort: 53, destinationPort: 5353 } },
  source: { namespace: 'kube-system', podName: 'coredns-1' },
  destinationNames: ['api.cilium.io'],
  eventType: { type: 1, subType: 133 },
  isReply: true,
  Summary: 'UDP',
});

/** httpResponse: [fd00::1]:80 <> empire/deathstar:43210 http-response FORWARDED (...). */
export const httpResponse = flow.Flow.fromPartial({
  time: at(2),
  verdict: flow.Verdict.FORWARDED,
  IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: flow.IPVersion.IPv6 },
  l4: { TCP: { sourcePort: 80, destinationPort: 43210 } },
  destination: { namespace: 'empire', podName: 'deathstar' },
  l7: { type: flow.L7FlowType.RESPONSE, latencyNs: 2_000_000n, http: { code: 200, method: 'GET', url: 'http://deathstar/v1', protocol: 'HTTP/1.1' } },
  eventType: { type: 129 },
  Summary: 'HTTP/1.1 200 2ms (GET http://deathstar/v1)',
});

/** policyVerdictDrop: 10.0.0.3 <> 10.0.0.4 Policy denied DROPPED (pv). */
export const policyVerdictDrop = flow.Flow.fromPartial({
  time: at(3),
  verdict: flow.Verdict.DROPPED,
  dropReason: 133,
  IP: { source: '10.0.0.3', destination: '10.0.0.4', ipVersion: flow.IPVersion.IPv4 },
  eventType: { type: 5 },
  Summary: 'pv',
});

/** icmpFlow: ICMPv4 echo between two pods, no ports. */
export const icmpFlow = flow.Flow.fromPartial({
  time: at(4, 5_000_000),
  verdict: flow.Verdict.FORWARDED,
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: flow.IPVersion.IPv4 },
  l4: { ICMPv4: { type: 8 } },
  source: { namespace: 'default', podName: 'xwing' },
  destinationService: { namespace: 'default', name: 'deathstar' },
  eventType: { type: 4, subType: 5 },
  isReply: false,
  Summary: 'ICMPv4 EchoRequest',
});
