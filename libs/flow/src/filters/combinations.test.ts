// Table-driven allow/deny combinations over one set of flows (HUBBLE-API.md §5.1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { FilterError } from './filter.js';
import { compileFlowFilters } from './registry.js';

type FF = flow.DeepPartial<flow.FlowFilter>;

const tcp = (sourcePort: number, destinationPort: number, flags: flow.DeepPartial<flow.TCPFlags> = {}) => ({ TCP: { sourcePort, destinationPort, flags } });

/** The flows every row is evaluated against, by name. */
const FLOWS: Record<string, flow.Flow> = {
  syn: flow.Flow.fromPartial({
    verdict: flow.Verdict.FORWARDED, nodeName: 'node-1', isReply: false, eventType: { type: 4, subType: 5 },
    IP: { source: '10.0.1.5', destination: '10.0.1.9', ipVersion: flow.IPVersion.IPv4 }, l4: tcp(43210, 80, { SYN: true }),
    source: { identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
    destination: { identity: 257, namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] },
  }),
  synack: flow.Flow.fromPartial({
    verdict: flow.Verdict.FORWARDED, nodeName: 'node-1', isReply: true, eventType: { type: 4, subType: 0 },
    IP: { source: '10.0.1.9', destination: '10.0.1.5', ipVersion: flow.IPVersion.IPv4 }, l4: tcp(80, 43210, { SYN: true, ACK: true }),
    source: { identity: 257, namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] },
    destination: { identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
  }),
  dnsDrop: flow.Flow.fromPartial({
    verdict: flow.Verdict.DROPPED, dropReason: 133, nodeName: 'c1/node-2', eventType: { type: 1, subType: 133 },
    IP: { source: '10.0.2.3', destination: '10.0.1.5', ipVersion: flow.IPVersion.IPv4 }, l4: { UDP: { sourcePort: 5353, destinationPort: 53 } },
    source: { identity: 300, namespace: 'rebels', podName: 'ywing-7', labels: ['k8s:app=ywing'] },
    destination: { identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
    destinationService: { namespace: 'kube-system', name: 'kube-dns' },
  }),
  ping6: flow.Flow.fromPartial({
    verdict: flow.Verdict.FORWARDED, nodeName: 'node-1', isReply: false, eventType: { type: 5, subType: 0 },
    IP: { source: 'fd00::5', destination: '2001:db8::8', ipVersion: flow.IPVersion.IPv6 }, l4: { ICMPv6: { type: 128, code: 0 } },
    source: { identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
    destination: { identity: 2, labels: ['reserved:world'] }, destinationNames: ['api.cilium.io'],
  }),
  http404: flow.Flow.fromPartial({
    verdict: flow.Verdict.FORWARDED, nodeName: 'node-1', isReply: true, eventType: { type: 129 }, Type: flow.FlowType.L7,
    IP: { source: '10.0.1.9', destination: '10.0.1.5', ipVersion: flow.IPVersion.IPv4 }, l4: tcp(80, 43210),
    l7: { type: flow.L7FlowType.RESPONSE, http: { code: 404, method: 'GET', url: 'http://deathstar/v1/exhaust-port' } },
  }),
};

const ALL = Object.keys(FLOWS);

/** [name, allowlist, denylist, names of the flows that pass]. */
const ROWS: [string, FF[], FF[], string[]][] = [
  ['no filters pass everything', [], [], ALL],
  ['empty allow filter matches all', [{}], [], ALL],
  ['empty deny filter removes all', [], [{}], []],
  ['allow entries are ORed', [{ verdict: [flow.Verdict.DROPPED] }, { protocol: ['icmp'] }], [], ['dnsDrop', 'ping6']],
  ['fields inside one filter are ANDed', [{ verdict: [flow.Verdict.FORWARDED], protocol: ['tcp'], reply: [false] }], [], ['syn']],
  ['values inside one field are ORed', [{ destinationPort: ['53', '80'] }], [], ['syn', 'dnsDrop']],
  ['deny wins over allow', [{ protocol: ['tcp'] }], [{ reply: [true] }], ['syn']],
  ['deny entries are ORed', [], [{ protocol: ['tcp'] }, { ipVersion: [flow.IPVersion.IPv6] }], ['dnsDrop']],
  ['CLI --pod split: either direction', [{ sourcePod: ['default/xwing'] }, { destinationPod: ['default/xwing'] }], [], ['syn', 'synack', 'dnsDrop', 'ping6']],
  ['namespace only', [{ sourcePod: ['empire/'] }], [], ['synack']],
  ['pod without namespace means default', [{ destinationPod: ['xwing'] }], [], ['synack', 'dnsDrop']],
  ['CIDR and exact IP', [{ sourceIp: ['10.0.2.0/24', '10.0.1.9'] }], [], ['synack', 'dnsDrop', 'http404']],
  ['IPv6 exact in non-canonical form', [{ sourceIp: ['fd00:0:0::5'] }], [], ['ping6']],
  ['IPv6 CIDR', [{ destinationIp: ['2001:db8::/32'] }], [], ['ping6']],
  ['label with source and negation', [{ sourceLabel: ['k8s:app,k8s:app!=deathstar'] }], [], ['syn', 'dnsDrop', 'ping6']],
  ['reserved label', [{ destinationLabel: ['reserved:world'] }], [], ['ping6']],
  ['identity', [{ sourceIdentity: [257, 300] }], [], ['synack', 'dnsDrop']],
  ['service', [{ destinationService: ['kube-system/kube-'] }], [], ['dnsDrop']],
  ['fqdn wildcard', [{ destinationFqdn: ['*.cilium.io'] }], [], ['ping6']],
  ['event type with sub type 0', [{ eventType: [{ type: 4, matchSubType: true, subType: 0 }] }], [], ['synack']],
  ['event type any sub type', [{ eventType: [{ type: 4 }] }], [], ['syn', 'synack']],
  ['drop with reason as sub type', [{ eventType: [{ type: 1, matchSubType: true, subType: 133 }] }], [], ['dnsDrop']],
  ['tcp flags: SYN only is a subset of SYN-ACK', [{ tcpFlags: [{ SYN: true }] }], [], ['syn', 'synack']],
  ['tcp flags: SYN and ACK', [{ tcpFlags: [{ SYN: true, ACK: true }] }], [], ['synack']],
  ['reply false counts absent on DROPPED', [{ reply: [false] }], [], ['syn', 'dnsDrop', 'ping6']],
  ['node name cluster pattern', [{ nodeName: ['c1/*'] }], [], ['dnsDrop']],
  ['node name default cluster', [{ nodeName: ['default/node-*'] }], [], ['syn', 'synack', 'ping6', 'http404']],
  ['ip version', [{ ipVersion: [flow.IPVersion.IPv6] }], [], ['ping6']],
  ['http status prefix', [{ httpStatusCode: ['4+'] }], [], ['http404']],
  ['http with l7 event type', [{ eventType: [{ type: 129 }], httpMethod: ['get'], httpPath: ['^/v1/'] }], [], ['http404']],
  ['protocol http vs tcp', [{ protocol: ['http'] }], [], ['http404']],
  ['tcp includes L7 over TCP', [{ protocol: ['TCP'] }], [], ['syn', 'synack', 'http404']],
  ['deny one verdict', [], [{ verdict: [flow.Verdict.FORWARDED] }], ['dnsDrop']],
  ['allow source port, deny destination pod', [{ sourcePort: ['80'] }], [{ destinationPod: ['default/xwing'] }], ['http404']],
];

for (const [name, allow, deny, want] of ROWS) {
  test(`filters: ${name}`, () => {
    const pred = compileFlowFilters(allow.map((f) => flow.FlowFilter.fromPartial(f)), deny.map((f) => flow.FlowFilter.fromPartial(f)));
    assert.deepEqual(ALL.filter((n) => pred(FLOWS[n]!)), want);
  });
}

/** [field, filter] pairs that must be rejected; the message names the field. */
const INVALID: [string, FF][] = [
  ['source_ip', { sourceIp: ['10.0.0.0/33'] }],
  ['source_ip', { sourceIp: ['10.0.0.256'] }],
  ['destination_ip', { destinationIp: ['fd00::/129'] }],
  ['source_pod', { sourcePod: [''] }],
  ['destination_service', { destinationService: [''] }],
  ['source_fqdn', { sourceFqdn: ['a b'] }],
  ['destination_fqdn', { destinationFqdn: [''] }],
  ['source_label', { sourceLabel: ['app in (a'] }],
  ['destination_label', { destinationLabel: ['=x'] }],
  ['protocol', { protocol: ['sctp2'] }],
  ['source_port', { sourcePort: ['-1'] }],
  ['destination_port', { destinationPort: ['70000'] }],
  ['http_status_code', { httpStatusCode: ['600'] }],
  ['http_status_code', { httpStatusCode: ['2xx'] }],
  ['http_method', { httpMethod: ['GET'], eventType: [{ type: 4 }] }],
  ['http_path', { httpPath: ['('] }],
  ['dns_query', { dnsQuery: ['['] }],
  ['node_name', { nodeName: ['a/b/c'] }],
];

test('filters: invalid values throw FilterError naming the field, in allow and deny lists', () => {
  for (const [field, filter] of INVALID) {
    for (const lists of [[[filter], []], [[], [filter]]] as FF[][][]) {
      assert.throws(
        () => compileFlowFilters(lists[0]!.map((f) => flow.FlowFilter.fromPartial(f)), lists[1]!.map((f) => flow.FlowFilter.fromPartial(f))),
        (err: unknown) => err instanceof FilterError && err.field === field && err.message.startsWith(`invalid ${field} filter`),
        `${field}: ${JSON.stringify(filter)}`,
      );
    }
  }
});
