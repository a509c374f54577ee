import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agent, flow, observer, relay } from '@cilium-ts/api';
import { encodeEventRecord, encodeTraceSockRecord } from '@cilium-ts/bpf/events';
import { encodeFlowEventResponse, Parser } from '@cilium-ts/flow';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { Colorer } from './colorer.js';
import type { OutputFormat } from './output-format.js';
import { Printer, joinWithCutOff } from './printer.js';
import { at, httpResponse, icmpFlow, policyVerdictDrop, tcpFlow, udpReplyDrop } from './testing/sample-flows.js';

function render(output: OutputFormat, responses: observer.GetFlowsResponse[], extra: { printNodeName?: boolean; debug?: boolean; color?: boolean } = {}) {
  let out = '';
  let err = '';
  const p = new Printer({
    output,
    printNodeName: extra.printNodeName ?? false,
    ipTranslation: true,
    debug: extra.debug ?? false,
    colorer: new Colorer(extra.color ?? false),
    out: (s) => (out += s),
    err: (s) => (err += s),
  });
  for (const r of responses) p.response(r);
  p.finish();
  return { out, err };
}

const resp = (f: typeof tcpFlow): observer.GetFlowsResponse => observer.GetFlowsResponse.fromPartial({ flow: f, nodeName: f.nodeName, time: f.time });
const status = (state: relay.NodeState, names: string[], message = ''): observer.GetFlowsResponse =>
  observer.GetFlowsResponse.fromPartial({ nodeStatus: { stateChange: state, nodeNames: names, message }, nodeName: 'relay', time: at(9) });

describe('compact output', () => {
  it('matches upstream v0.12.3 (identities after each side, policy verdicts by match type and direction)', () => {
    const { out } = render('compact', [tcpFlow, udpReplyDrop, httpResponse, policyVerdictDrop].map(resp));
    assert.equal(
      out,
      'Dec  1 10:00:00.123: default/xwing:43210 (ID:1234) -> default/deathstar-1:80 (ID:5678) to-endpoint FORWARDED (TCP Flags: SYN)\n' +
        'Dec  1 10:00:01.123: api.cilium.io:5353 (unknown) <- kube-system/coredns-1:53 (unknown) Policy denied DROPPED (UDP)\n' +
        'Dec  1 10:00:02.123: [fd00::1]:80 (unknown) <> empire/deathstar:43210 (unknown) http-response FORWARDED (HTTP/1.1 200 2ms (GET http://deathstar/v1))\n' +
        'Dec  1 10:00:03.123: 10.0.0.3 (unknown) <> 10.0.0.4 (unknown) policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN DENIED (pv)\n',
    );
  });

  it('renders the L7 fail-closed drop (reason 165) decoded from a datapath record by its upstream name', () => {
    const packet = buildPacket({ src: '10.0.1.9', dst: '10.0.1.5', protocol: 'tcp', sport: 41000, dport: 80, tcpFlags: TcpFlags.syn });
    const ev = new Parser({ nodeName: 'node-1' }).decode(agent.MonitorEvent.fromPartial({ time: at(5), datapath: encodeEventRecord({ type: 1, subType: 165, source: 9, srcIdentity: 300, dstIdentity: 1000, packet }) }));
    assert.ok(ev.kind === 'flow');
    const { out } = render('compact', [observer.GetFlowsResponse.decode(encodeFlowEventResponse(ev))]);
    assert.equal(out, 'Dec  1 10:00:05.123: 10.0.1.9:41000 (ID:300) -> 10.0.1.5:80 (ID:1000) No configuration available to perform policy decision DROPPED (TCP Flags: SYN)\n');
  });

  it('renders ICMP without ports, services by name, and the node name on request', () => {
    const { out } = render('compact', [resp(icmpFlow), resp(tcpFlow)], { printNodeName: true });
    assert.equal(
      out,
      'Dec  1 10:00:04.005 []: default/xwing (unknown) -> default/deathstar (unknown) from-endpoint FORWARDED (ICMPv4 EchoRequest)\n' +
        'Dec  1 10:00:00.123 [kind-worker]: default/xwing:43210 (ID:1234) -> default/deathstar-1:80 (ID:5678) to-endpoint FORWARDED (TCP Flags: SYN)\n',
    );
  });

  it('colours only when asked', () => {
    const { out } = render('compact', [resp(policyVerdictDrop)], { color: true });
    assert.equal(
      out,
      'Dec  1 10:00:03.123: \x1b[36m10.0.0.3\x1b[0m \x1b[35m(unknown)\x1b[0m <> \x1b[36m10.0.0.4\x1b[0m \x1b[35m(unknown)\x1b[0m ' +
        'policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN \x1b[31mDENIED\x1b[0m (pv)\n',
    );
  });

  it('names reserved identities, policy verdicts by direction and audit, authentication and unknown drop reasons as upstream', () => {
    const pv = (verdict: flow.Verdict, dir: flow.TrafficDirection, match: number) =>
      flow.Flow.fromPartial({ ...policyVerdictDrop, verdict, trafficDirection: dir, policyMatchType: match, isReply: false,
        source: { identity: 2 }, destination: { identity: 6 } });
    const lines = render('compact', [
      resp(pv(flow.Verdict.AUDIT, flow.TrafficDirection.EGRESS, 5)),
      resp(pv(flow.Verdict.REDIRECTED, flow.TrafficDirection.INGRESS, 6)),
      resp(pv(flow.Verdict.FORWARDED, flow.TrafficDirection.INGRESS, 9)),
      resp(flow.Flow.fromPartial({ ...tcpFlow, authType: flow.AuthType.SPIRE, source: { identity: 1 }, destination: { identity: 8 } })),
      resp(flow.Flow.fromPartial({ ...tcpFlow, eventType: { type: 1, subType: 199 }, verdict: flow.Verdict.DROPPED, source: { identity: 4 }, destination: { identity: 16777217 } })),
    ]).out.split('\n');
    assert.match(lines[0]!, / \(world\) -> 10\.0\.0\.4 \(remote-node\) policy-verdict:L3-Proto EGRESS AUDITED \(pv\)$/);
    assert.match(lines[1]!, / policy-verdict:Proto-Only INGRESS ALLOWED /);
    assert.match(lines[2]!, / policy-verdict:unknown INGRESS ALLOWED /);
    assert.match(lines[3]!, / \(host\) -> .* \(ingress\) to-endpoint FORWARDED \(TCP Flags: SYN; Auth: SPIRE\)$/);
    assert.match(lines[4]!, / \(health\) -> .* \(ID:16777217\) 199, 0 DROPPED /);
  });

  it('writes NODE_ERROR and NODE_UNAVAILABLE to stderr and hides CONNECTED unless debugging', () => {
    const events = [
      status(relay.NodeState.NODE_CONNECTED, ['a', 'b']),
      status(relay.NodeState.NODE_UNAVAILABLE, ['c']),
      status(relay.NodeState.NODE_ERROR, ['d', 'e'], 'rpc error: code = Unavailable desc = gone'),
    ];
    const { out, err } = render('compact', events);
    assert.equal(out, '');
    assert.equal(
      err,
      'Dec  1 10:00:09.123 [relay]: 1 nodes are unavailable: c\n' +
        'Dec  1 10:00:09.123 [relay]: Error "rpc error: code = Unavailable desc = gone" on 2 nodes: d, e\n',
    );
    const dbg = render('compact', events.slice(0, 1), { debug: true });
    assert.equal(dbg.err, 'Dec  1 10:00:09.123 [relay]: Receiving flows from 2 nodes: a, b\n');
  });
});

describe('dict output', () => {
  it('prints blocks separated by 12 dashes', () => {
    const { out } = render('dict', [resp(tcpFlow), resp(policyVerdictDrop)]);
    assert.equal(
      out,
      '  TIMESTAMP: Dec  1 10:00:00.123\n' +
        '     SOURCE: default/xwing:43210\n' +
        'DESTINATION: default/deathstar-1:80\n' +
        '       TYPE: to-endpoint\n' +
        '    VERDICT: FORWARDED\n' +
        '    SUMMARY: TCP Flags: SYN\n' +
        '------------\n' +
        '  TIMESTAMP: Dec  1 10:00:03.123\n' +
        '     SOURCE: 10.0.0.3\n' +
        'DESTINATION: 10.0.0.4\n' +
        '       TYPE: policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN\n' +
        '    VERDICT: DENIED\n' +
        '    SUMMARY: pv\n',
    );
  });

  it('prints node status blocks on stderr', () => {
    const { err } = render('dict', [status(relay.NodeState.NODE_UNAVAILABLE, ['c'])]);
    assert.equal(err, '  TIMESTAMP: Dec  1 10:00:09.123\n      STATE: NODE_UNAVAILABLE\n      NODES: c\n    MESSAGE: N/A\n');
  });
});

describe('table output', () => {
  it('aligns columns like Go tabwriter and never swaps replies', () => {
    const { out } = render('table', [resp(tcpFlow), resp(udpReplyDrop)]);
    assert.equal(
      out,
      'TIMESTAMP             SOURCE                     DESTINATION              TYPE            VERDICT     SUMMARY\n' +
        'Dec  1 10:00:00.123   default/xwing:43210        default/deathstar-1:80   to-endpoint     FORWARDED   TCP Flags: SYN\n' +
        'Dec  1 10:00:01.123   kube-system/coredns-1:53   api.cilium.io:5353       Policy denied   DROPPED     UDP\n',
    );
  });
});

describe('json output (legacy: HUBBLE_COMPAT=legacy-json-output)', () => {
  it('prints the flow as proto-JSON with upstream names', () => {
    const { out } = render('json', [resp(tcpFlow)]);
    const line = out.trimEnd();
    assert.equal(out.split('\n').length, 2, 'one object per line');
    const obj = JSON.parse(line);
    assert.equal(obj.time, '2021-12-01T10:00:00.123Z');
    assert.deepEqual(obj.IP, { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' });
    assert.deepEqual(obj.l4, { TCP: { source_port: 43210, destination_port: 80, flags: { SYN: true } } });
    assert.equal(obj.is_reply, false);
    assert.equal(obj.node_name, 'kind-worker');
    assert.equal(obj.Type, 'L3_L4');
    assert.equal(obj.verdict, 'FORWARDED');
    assert.equal(obj.trace_observation_point, 'TO_ENDPOINT');
    assert.deepEqual(obj.event_type, { type: 4 });
    assert.equal(obj.Summary, 'TCP Flags: SYN');
    assert.ok(!('reply' in obj), 'unpopulated fields are omitted');
  });

  it('prints 64-bit integers as strings and escapes HTML characters like Go', () => {
    const { out } = render('json', [resp(httpResponse)]);
    assert.match(out, /"latency_ns":"2000000"/);
    const f = { ...tcpFlow, Summary: '<a & b>' };
    assert.match(render('json', [resp(f)]).out, /"Summary":"\\u003ca \\u0026 b\\u003e"/);
  });

  it('jsonpb prints the whole response, node status included on stderr', () => {
    const { out, err } = render('jsonpb', [resp(tcpFlow), status(relay.NodeState.NODE_ERROR, ['x'], 'boom')]);
    const obj = JSON.parse(out);
    assert.equal(obj.node_name, 'kind-worker');
    assert.equal(obj.time, '2021-12-01T10:00:00.123Z');
    assert.equal(obj.flow.Summary, 'TCP Flags: SYN');
    assert.deepEqual(JSON.parse(err).node_status, { state_change: 'NODE_ERROR', node_names: ['x'], message: 'boom' });
  });
});

describe('joinWithCutOff', () => {
  it('cuts long node lists', () => {
    const names = Array.from({ length: 10 }, (_, i) => `node-number-${i}`);
    assert.equal(joinWithCutOff(names, ', ', 50), 'node-number-0, node-number-1, node-number-2 (and 7 more)');
    assert.equal(joinWithCutOff(['a', 'b'], ', ', 50), 'a, b');
  });
});

describe('socket load-balancing flows (trace sock records), as upstream v0.12.3 renders them', () => {
  it('compact: the service as the destination, the translation point as the type, TRACED / TRANSLATED', () => {
    const client = { id: 101, identity: 256, namespace: 'default', podName: 'client', labels: ['k8s:app=client'], ipv4: '10.0.1.5' };
    const parser = new Parser({
      nodeName: 'n1',
      endpoints: { getEndpointByID: (id) => (id === 101 ? client : undefined), getEndpointByIP: () => undefined },
      services: { getServiceByID: (id) => (id === 7 ? { id, name: 'web', namespace: 'default' } : undefined), getServiceByAddr: () => undefined },
    });
    const responses = [[1, '10.96.0.10', 80], [2, '10.0.2.7', 8080]].map(([point, address, port]) => {
      const e = parser.decodeRecordAt(encodeTraceSockRecord({ xlatePoint: point as number, endpointId: 101, revNatIndex: 7, address: address as string, port: port as number, protocol: 6 }), 1_700_000_000, 0, 'n1');
      return observer.GetFlowsResponse.decode(encodeFlowEventResponse(e as Extract<typeof e, { kind: 'flow' }>));
    });
    const { out } = render('compact', responses);
    assert.equal(out, [
      'Nov 14 22:13:20.000: default/client (ID:256) <> default/web:80 (unknown) pre-xlate-fwd TRACED (TCP)',
      'Nov 14 22:13:20.000: default/client (ID:256) <> default/web:8080 (unknown) post-xlate-fwd TRANSLATED (TCP)',
      '',
    ].join('\n'));
  });
});
