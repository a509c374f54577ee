import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flow, proxy, Timestamp } from '@cilium-ts/api';
import { accessLogFlow, AccessLogEventType } from './access-log-flow.js';
import { EndpointResolver } from './endpoint-resolver.js';
import { compileFlowFilters } from './filters/registry.js';

// L7 flows from the proxy's access records, and the filters `hubble observe --type l7
// --http-method/--http-status/--http-path` send for them.
const resolver = new EndpointResolver({
  endpoints: {
    getEndpointByID: (id) => (id === 9 ? { id: 9, identity: 5009, namespace: 'default', podName: 'web', labels: ['k8s:app=web'] } : undefined),
    getEndpointByIP: () => undefined,
  },
  identities: { getIdentity: (id) => (id === 5001 ? { id: 5001, labels: ['k8s:app=client'] } : undefined) },
});
const now = (): Timestamp => Timestamp.fromPartial({ seconds: 1n });
const record = (type: 'request' | 'response', verdict: proxy.Verdict, code: number, path: string): proxy.AccessLogRecord =>
  proxy.AccessLogRecord.fromPartial({
    time: Timestamp.fromPartial({ seconds: 100n }),
    type,
    verdict,
    direction: proxy.TrafficDirection.INGRESS,
    endpointId: 9,
    sourceAddress: '10.0.1.3', sourcePort: 40000, sourceIdentity: 5001,
    destinationAddress: '10.0.0.2', destinationPort: 80, destinationIdentity: 5009,
    http: { method: 'GET', url: path, protocol: 'HTTP/1.1', code, headers: [{ key: 'Host', value: '10.0.0.2' }] },
    latencyNs: type === 'response' ? 1500n : 0n,
  });

test('a request is an L7 REQUEST flow client -> endpoint, a denied one DROPPED; a response goes back, with code and latency', () => {
  const req = accessLogFlow(record('request', proxy.Verdict.DENIED, 0, '/private'), resolver, 'n1', now);
  assert.equal(req.Type, flow.FlowType.L7);
  assert.equal(req.verdict, flow.Verdict.DROPPED);
  assert.equal(req.eventType?.type, AccessLogEventType);
  assert.equal(req.nodeName, 'n1');
  assert.equal(req.trafficDirection, flow.TrafficDirection.INGRESS);
  assert.deepEqual([req.IP?.source, req.l4?.TCP?.sourcePort, req.IP?.destination, req.l4?.TCP?.destinationPort], ['10.0.1.3', 40000, '10.0.0.2', 80]);
  assert.deepEqual([req.source?.identity, req.source?.labels, req.destination?.ID, req.destination?.podName], [5001, ['k8s:app=client'], 9, 'web']);
  assert.equal(req.l7?.type, flow.L7FlowType.REQUEST);
  assert.deepEqual(req.l7?.http && { ...req.l7.http, headers: req.l7.http.headers.length }, { code: 0, method: 'GET', url: 'http://10.0.0.2/private', protocol: 'HTTP/1.1', headers: 1 });
  assert.equal(req.isReply, false);
  assert.equal(req.Summary, 'HTTP/1.1 GET http://10.0.0.2/private');
  assert.ok(req.uuid !== '');

  const res = accessLogFlow(record('response', proxy.Verdict.FORWARDED, 200, '/public'), resolver, 'n1', now);
  assert.equal(res.verdict, flow.Verdict.FORWARDED);
  assert.equal(res.l7?.type, flow.L7FlowType.RESPONSE);
  assert.equal(res.l7?.latencyNs, 1500n);
  assert.equal(res.l7?.http?.code, 200);
  assert.equal(res.isReply, true);
  assert.equal(res.Summary, 'HTTP/1.1 200 0ms (GET http://10.0.0.2/public)');
  assert.deepEqual([res.IP?.source, res.l4?.TCP?.sourcePort, res.source?.ID, res.destination?.identity], ['10.0.0.2', 80, 9, 5001]);
  assert.deepEqual(res.time, Timestamp.fromPartial({ seconds: 100n }));
});

test('hubble observe --type l7 / --http-method / --http-status / --http-path select them', () => {
  const flows = [
    accessLogFlow(record('request', proxy.Verdict.DENIED, 0, '/private'), resolver, 'n1', now),
    accessLogFlow(record('response', proxy.Verdict.FORWARDED, 200, '/public'), resolver, 'n1', now),
  ];
  const pick = (f: Partial<flow.FlowFilter>): number[] => {
    const match = compileFlowFilters([flow.FlowFilter.fromPartial(f)], []);
    return flows.flatMap((x, k) => (match(x) ? [k] : []));
  };
  assert.deepEqual(pick({ eventType: [{ type: AccessLogEventType, matchSubType: false, subType: 0 }] }), [0, 1]);
  assert.deepEqual(pick({ httpStatusCode: ['200'] }), [1]);
  assert.deepEqual(pick({ httpMethod: ['GET'] }), [0, 1]);
  assert.deepEqual(pick({ httpPath: ['^/private$'] }), [0]);
  assert.deepEqual(pick({ verdict: [flow.Verdict.DROPPED] }), [0]);
});

test('DNS records are L7 flows with l7.dns over UDP, Cilium\'s DNS summary, and --protocol dns / --dns-query select them', () => {
  const dns = (type: 'request' | 'response', verdict: proxy.Verdict, rcode: number, ips: string[]): proxy.AccessLogRecord =>
    proxy.AccessLogRecord.fromPartial({
      time: Timestamp.fromPartial({ seconds: 100n }),
      type, verdict,
      direction: proxy.TrafficDirection.EGRESS,
      endpointId: 9,
      sourceAddress: '10.0.0.2', sourcePort: 40001, sourceIdentity: 5009,
      destinationAddress: '10.0.1.53', destinationPort: 53, destinationIdentity: 5001,
      latencyNs: type === 'response' ? 2_000_000n : 0n,
      dns: { query: 'allowed.example.', ips, ttl: ips.length ? 60 : 0, cnames: [], rcode, qtypes: ['A'], rrtypes: ips.map(() => 'A'), transport: 'udp' },
    });
  const flows = [
    accessLogFlow(dns('request', proxy.Verdict.FORWARDED, 0, []), resolver, 'n1', now),
    accessLogFlow(dns('response', proxy.Verdict.FORWARDED, 0, ['192.0.2.10']), resolver, 'n1', now),
    accessLogFlow(dns('request', proxy.Verdict.DENIED, 5, []), resolver, 'n1', now),
  ];
  const [req, res, denied] = flows as [flow.Flow, flow.Flow, flow.Flow];
  assert.deepEqual([req.l4?.UDP?.sourcePort, req.l4?.UDP?.destinationPort, req.source?.ID, req.trafficDirection], [40001, 53, 9, flow.TrafficDirection.EGRESS]);
  assert.equal(req.Summary, 'DNS Query allowed.example. A');
  assert.deepEqual(res.l7?.dns, { query: 'allowed.example.', ips: ['192.0.2.10'], ttl: 60, cnames: [], observationSource: 'proxy', rcode: 0, qtypes: ['A'], rrtypes: ['A'] });
  assert.equal(res.Summary, 'DNS Answer "192.0.2.10" TTL: 60 (Proxy allowed.example. A)');
  assert.deepEqual([res.IP?.source, res.l4?.UDP?.sourcePort, res.isReply], ['10.0.1.53', 53, true]);
  assert.equal(denied.verdict, flow.Verdict.DROPPED);
  const pick = (f: Partial<flow.FlowFilter>): number[] => {
    const match = compileFlowFilters([flow.FlowFilter.fromPartial(f)], []);
    return flows.flatMap((x, k) => (match(x) ? [k] : []));
  };
  assert.deepEqual(pick({ protocol: ['dns'] }), [0, 1, 2]);
  assert.deepEqual(pick({ protocol: ['http'] }), []);
  assert.deepEqual(pick({ dnsQuery: ['^allowed\\.example\\.$'] }), [0, 1, 2]);
  assert.deepEqual(pick({ verdict: [flow.Verdict.DROPPED], protocol: ['dns'] }), [2]);
});
