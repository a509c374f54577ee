// A varied set of datapath records and the metadata that names their endpoints, for tests
// that compare how two Hubble clients render the same flows (our CLI against upstream's):
// every trace point the datapath emits, replies, TCP flag combinations, UDP, ICMPv4/v6,
// SCTP, IPv6, drops with several reasons (one unknown to both name tables), policy
// verdicts allowed / denied / redirected in both directions, and reserved identities
// (host, world, remote-node, unknown) next to pods on this node and on another one.
import { agent } from '@cilium-ts/api';
import { encodeEventRecord, type EventRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags, type PacketSpec } from '@cilium-ts/bpf/testing/packet-builder';
import type { FakeAgentSnapshot } from '@cilium-ts/agent/testing';

const XWING = { id: 101, ipv4: '10.0.1.5', ipv6: 'fd00::105', identity: 256 };
const TIEFIGHTER = { id: 102, ipv4: '10.0.1.6', identity: 258 };
const DEATHSTAR = { ipv4: '10.0.2.9', ipv6: 'fd00::209', identity: 257 };
const HOST_IP = '10.0.1.1';
const REMOTE_NODE_IP = '192.168.50.12';

/** The endpoints, identities and ipcache entries the compat records refer to. */
export const COMPAT_SNAPSHOT: FakeAgentSnapshot = {
  endpoints: [
    { id: XWING.id, ipv4: XWING.ipv4, ipv6: XWING.ipv6, identity: XWING.identity, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default'], hostIfindex: 7, hostIfname: 'lxcxwing' },
    { id: TIEFIGHTER.id, ipv4: TIEFIGHTER.ipv4, identity: TIEFIGHTER.identity, namespace: 'empire', podName: 'tiefighter', labels: ['k8s:app=tiefighter', 'k8s:io.kubernetes.pod.namespace=empire'], hostIfindex: 8, hostIfname: 'lxctie' },
  ] satisfies agent.DeepPartial<agent.Endpoint>[],
  identities: [
    { id: 256, labels: ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default'] },
    { id: 257, labels: ['k8s:app=deathstar', 'k8s:io.kubernetes.pod.namespace=empire'] },
    { id: 258, labels: ['k8s:app=tiefighter', 'k8s:io.kubernetes.pod.namespace=empire'] },
  ],
  ipcache: [
    { cidr: `${DEATHSTAR.ipv4}/32`, identity: DEATHSTAR.identity, hostIp: REMOTE_NODE_IP, nodeName: 'n2', namespace: 'empire', podName: 'deathstar' },
    { cidr: `${DEATHSTAR.ipv6}/128`, identity: DEATHSTAR.identity, hostIp: REMOTE_NODE_IP, nodeName: 'n2', namespace: 'empire', podName: 'deathstar' },
    { cidr: `${REMOTE_NODE_IP}/32`, identity: 6, nodeName: 'n2' },
    { cidr: `${HOST_IP}/32`, identity: 1 },
  ],
};

type Fields = Partial<EventRecord> & { type: number; subType: number; source: number };
type L4 = Omit<PacketSpec, 'src' | 'dst'>;
const tcp = (sport: number, dport: number, tcpFlags: number): L4 => ({ protocol: 'tcp', sport, dport, tcpFlags });
const udp = (sport: number, dport: number): L4 => ({ protocol: 'udp', sport, dport });

function rec(fields: Fields, src: string, dst: string, l4: L4): Buffer {
  return encodeEventRecord({ ...fields, packet: buildPacket({ src, dst, ...l4 }) });
}

/** Trace point numbers (Cilium's TRACE_TO_LXC ... TRACE_TO_NETWORK). */
const TO_ENDPOINT = 0, TO_PROXY = 1, TO_STACK = 3, TO_OVERLAY = 4, FROM_ENDPOINT = 5, FROM_HOST = 7, FROM_OVERLAY = 9, FROM_NETWORK = 10;
const TRACE = 4, DROP = 1, VERDICT = 5;

/** About 30 records covering what the datapath emits (see the file comment). */
export function compatRecords(): Buffer[] {
  const x = XWING, d = DEATHSTAR, t = TIEFIGHTER;
  return [
    // A TCP connection xwing -> deathstar:80 across nodes, both ways, with its flags.
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv4, d.ipv4, tcp(41000, 80, TcpFlags.syn)),
    rec({ type: TRACE, subType: TO_OVERLAY, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity }, x.ipv4, d.ipv4, tcp(41000, 80, TcpFlags.syn)),
    rec({ type: TRACE, subType: FROM_OVERLAY, source: x.id, isReply: true, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv4, x.ipv4, tcp(80, 41000, TcpFlags.syn | TcpFlags.ack)),
    rec({ type: TRACE, subType: TO_ENDPOINT, source: x.id, isReply: true, srcIdentity: d.identity, dstIdentity: x.identity, ifindex: 7 }, d.ipv4, x.ipv4, tcp(80, 41000, TcpFlags.syn | TcpFlags.ack)),
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv4, d.ipv4, tcp(41000, 80, TcpFlags.ack | TcpFlags.psh)),
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv4, d.ipv4, tcp(41000, 80, TcpFlags.fin | TcpFlags.ack)),
    rec({ type: TRACE, subType: TO_ENDPOINT, source: x.id, isReply: true, srcIdentity: d.identity, dstIdentity: x.identity, ifindex: 7 }, d.ipv4, x.ipv4, tcp(80, 41000, TcpFlags.rst)),
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv4, d.ipv4, tcp(41001, 80, TcpFlags.syn | TcpFlags.ece | TcpFlags.cwr)),
    // Same node, another namespace; the host; the world; the stack and the network.
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: t.id, egress: true, srcIdentity: t.identity, dstIdentity: x.identity, ifindex: 8 }, t.ipv4, x.ipv4, tcp(52000, 8080, TcpFlags.syn)),
    rec({ type: TRACE, subType: FROM_HOST, source: x.id, srcIdentity: 1, dstIdentity: x.identity }, HOST_IP, x.ipv4, tcp(33000, 80, TcpFlags.syn)),
    rec({ type: TRACE, subType: TO_STACK, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: 2 }, x.ipv4, '10.96.0.10', udp(51000, 53)),
    rec({ type: TRACE, subType: TO_STACK, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: 2 }, x.ipv4, '8.8.8.8', { protocol: 'icmp', icmpType: 8, icmpCode: 0 }),
    rec({ type: TRACE, subType: FROM_NETWORK, source: x.id, isReply: true, srcIdentity: 2, dstIdentity: x.identity }, '8.8.8.8', x.ipv4, { protocol: 'icmp', icmpType: 0, icmpCode: 0 }),
    rec({ type: TRACE, subType: TO_PROXY, source: x.id, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv4, x.ipv4, tcp(42000, 80, TcpFlags.syn)),
    rec({ type: TRACE, subType: FROM_NETWORK, source: x.id, srcIdentity: 6, dstIdentity: x.identity }, REMOTE_NODE_IP, x.ipv4, { protocol: 'sctp', sport: 9000, dport: 9001 }),
    rec({ type: TRACE, subType: TO_ENDPOINT, source: x.id, srcIdentity: 0, dstIdentity: x.identity, ifindex: 7 }, '10.0.9.9', x.ipv4, udp(7000, 7001)),
    // IPv6: TCP and ICMPv6 echo.
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv6, d.ipv6, tcp(43000, 443, TcpFlags.syn)),
    rec({ type: TRACE, subType: TO_ENDPOINT, source: x.id, isReply: true, srcIdentity: d.identity, dstIdentity: x.identity, ifindex: 7 }, d.ipv6, x.ipv6, tcp(443, 43000, TcpFlags.syn | TcpFlags.ack)),
    rec({ type: TRACE, subType: FROM_ENDPOINT, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: d.identity, ifindex: 7 }, x.ipv6, d.ipv6, { protocol: 'icmpv6', icmpType: 128, icmpCode: 0 }),
    // Drops: policy denied, denied by a deny rule, L7 not configured, invalid source, a reason no table names.
    rec({ type: DROP, subType: 133, source: x.id, srcIdentity: 2, dstIdentity: x.identity }, '203.0.113.7', x.ipv4, tcp(5555, 22, TcpFlags.syn)),
    rec({ type: DROP, subType: 181, source: t.id, egress: true, srcIdentity: t.identity, dstIdentity: d.identity }, t.ipv4, d.ipv4, tcp(52001, 8080, TcpFlags.syn)),
    rec({ type: DROP, subType: 165, source: x.id, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv4, x.ipv4, tcp(42001, 80, TcpFlags.syn)),
    rec({ type: DROP, subType: 132, source: x.id, egress: true, srcIdentity: x.identity, dstIdentity: 2 }, '10.0.7.7', '1.1.1.1', udp(1234, 53)),
    rec({ type: DROP, subType: 199, source: x.id, srcIdentity: 2, dstIdentity: x.identity }, '198.51.100.1', x.ipv4, udp(4000, 4001)),
    rec({ type: DROP, subType: 133, source: x.id, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv6, x.ipv6, tcp(44000, 8080, TcpFlags.syn)),
    // Policy verdicts: allowed ingress (L3-L4), allowed from the host (all), denied egress
    // (none), redirected to a proxy (L3-L4), allowed egress L4-only, denied by a deny rule.
    rec({ type: VERDICT, subType: 0, source: x.id, allowed: true, matchType: 2, matchedPort: 80, matchedProtocol: 6, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv4, x.ipv4, tcp(45000, 80, TcpFlags.syn)),
    rec({ type: VERDICT, subType: 0, source: x.id, allowed: true, matchType: 4, srcIdentity: 1, dstIdentity: x.identity }, HOST_IP, x.ipv4, tcp(33001, 80, TcpFlags.syn)),
    rec({ type: VERDICT, subType: 0, source: x.id, egress: true, allowed: false, matchType: 0, verdictDropReason: 133, srcIdentity: x.identity, dstIdentity: 2 }, x.ipv4, '1.1.1.1', tcp(46000, 443, TcpFlags.syn)),
    rec({ type: VERDICT, subType: 0, source: x.id, allowed: true, redirected: true, matchType: 2, matchedPort: 80, matchedProtocol: 6, srcIdentity: d.identity, dstIdentity: x.identity }, d.ipv4, x.ipv4, tcp(42002, 80, TcpFlags.syn)),
    rec({ type: VERDICT, subType: 0, source: x.id, egress: true, allowed: true, matchType: 3, matchedPort: 53, matchedProtocol: 17, srcIdentity: x.identity, dstIdentity: 2 }, x.ipv4, '10.96.0.10', udp(51001, 53)),
    rec({ type: VERDICT, subType: 0, source: t.id, egress: true, allowed: false, matchType: 2, verdictDropReason: 181, srcIdentity: t.identity, dstIdentity: d.identity }, t.ipv4, d.ipv4, tcp(52002, 8080, TcpFlags.syn)),
  ];
}
