import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { flow } from '@cilium-ts/api';
import { shortPodName } from './context-labels.js';
import { MetricSpecError, parseMetricSpecs } from './metric-spec.js';
import { FlowMetrics } from './registry.js';

/** Feeds flows to FlowMetrics on a private meter and returns the Prometheus text. */
async function scrape(entries: string[], flows: flow.DeepPartial<flow.Flow>[]): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  try {
    const m = new FlowMetrics(entries, provider.getMeter('test'));
    for (const f of flows) m.observe(flow.Flow.fromPartial(f));
    const { resourceMetrics } = await exporter.collect();
    // Drop the exporter's scope labels so the assertions read like upstream series.
    return new PrometheusSerializer().serialize(resourceMetrics).replace(/,?otel_scope_[a-z_]+="[^"]*"/g, '').replace(/\{\}/g, '');
  } finally {
    await provider.shutdown();
  }
}

const syn = {
  verdict: flow.Verdict.FORWARDED, isReply: false, eventType: { type: 4, subType: 5 },
  IP: { source: '10.0.1.5', destination: '10.0.1.9', ipVersion: flow.IPVersion.IPv4 },
  l4: { TCP: { sourcePort: 43210, destinationPort: 80, flags: { SYN: true } } },
  source: { namespace: 'default', podName: 'xwing-7d4b9c8f6-x2x9z', labels: ['k8s:app=xwing'] },
  destination: { namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] },
};
const synAck = { ...syn, isReply: true, eventType: { type: 4, subType: 0 }, l4: { TCP: { sourcePort: 80, destinationPort: 43210, flags: { SYN: true, ACK: true } } } };
const drop = {
  verdict: flow.Verdict.DROPPED, dropReason: 133, dropReasonDesc: flow.DropReason.POLICY_DENIED, eventType: { type: 1, subType: 133 },
  IP: { source: '10.0.2.3', destination: '10.0.1.5', ipVersion: flow.IPVersion.IPv4 }, l4: { UDP: { sourcePort: 5353, destinationPort: 53 } },
};
const ping6 = { verdict: flow.Verdict.FORWARDED, eventType: { type: 5 }, IP: { ipVersion: flow.IPVersion.IPv6 }, l4: { ICMPv6: { type: 128, code: 0 } } };
const httpReq = {
  verdict: flow.Verdict.FORWARDED, eventType: { type: 129 }, trafficDirection: flow.TrafficDirection.EGRESS,
  l7: { type: flow.L7FlowType.REQUEST, http: { method: 'GET', protocol: 'HTTP/1.1', url: 'http://x/' } },
};
const httpResp = { ...httpReq, l7: { type: flow.L7FlowType.RESPONSE, latencyNs: 20_000_000n, http: { code: 404, method: 'GET', protocol: 'HTTP/1.1' } } };
const dnsResp = {
  verdict: flow.Verdict.FORWARDED, eventType: { type: 129 },
  l7: { type: flow.L7FlowType.RESPONSE, dns: { query: 'api.cilium.io.', qtypes: ['A'], rrtypes: ['A', 'CNAME'], ips: ['1.2.3.4'], rcode: 0 } },
};
const dnsAAAA = { ...dnsResp, l7: { type: flow.L7FlowType.REQUEST, dns: { query: 'x.', qtypes: ['AAAA'] } } };

test('FlowMetrics: flow, drop, tcp, port-distribution, icmp', async () => {
  const text = await scrape(['flow', 'drop', 'tcp', 'port-distribution', 'icmp'], [syn, synAck, drop, ping6]);
  assert.match(text, /hubble_flows_processed_total\{type="Trace",subtype="from-endpoint",verdict="FORWARDED"\} 1/);
  assert.match(text, /hubble_flows_processed_total\{type="Drop",subtype="",verdict="DROPPED"\} 1/);
  assert.match(text, /hubble_drop_total\{reason="POLICY_DENIED",protocol="UDP"\} 1/);
  assert.match(text, /hubble_tcp_flags_total\{flag="SYN",family="IPv4"\} 1/);
  assert.match(text, /hubble_tcp_flags_total\{flag="SYN-ACK",family="IPv4"\} 1/);
  assert.match(text, /hubble_port_distribution_total\{protocol="TCP",port="80"\} 1/);
  assert.doesNotMatch(text, /port="43210"/, 'replies are not counted');
  assert.doesNotMatch(text, /port="53"/, 'drops are not counted');
  assert.match(text, /hubble_icmp_total\{family="IPv6",type="EchoRequest"\} 1/);
  assert.doesNotMatch(text, /hubble_http|hubble_dns/);
});

test('FlowMetrics: only the selected handlers export', async () => {
  const text = await scrape(['drop'], [syn, drop]);
  assert.match(text, /hubble_drop_total/);
  assert.doesNotMatch(text, /hubble_flows_processed_total|hubble_tcp_flags_total|hubble_port_distribution_total/);
});

test('FlowMetrics: http and dns from L7 flows; dns options', async () => {
  const text = await scrape(['http', 'dns:query;ignoreAAAA', 'flow'], [httpReq, httpResp, dnsResp, dnsAAAA]);
  assert.match(text, /hubble_http_requests_total\{method="GET",protocol="HTTP\/1.1",reporter="client"\} 1/);
  assert.match(text, /hubble_http_responses_total\{method="GET",status="404",reporter="client"\} 1/);
  assert.match(text, /hubble_http_request_duration_seconds_bucket\{method="GET",reporter="client",le="0.025"\} 1/);
  assert.match(text, /hubble_dns_responses_total\{rcode="No Error",qtypes="A",ips_returned="1",query="api.cilium.io."\} 1/);
  assert.match(text, /hubble_dns_response_types_total\{type="CNAME",qtypes="A"\} 1/);
  assert.doesNotMatch(text, /hubble_dns_queries_total\{/, 'AAAA queries are ignored');
  assert.match(text, /hubble_flows_processed_total\{type="L7",subtype="HTTP",verdict="FORWARDED"\} 2/);
});

test('FlowMetrics: source and destination context labels with fallbacks', async () => {
  const text = await scrape(['flow:sourceContext=pod-short;destinationContext=namespace', 'drop:sourceContext=pod|ip'], [syn, drop]);
  assert.match(text, /hubble_flows_processed_total\{type="Trace",subtype="from-endpoint",verdict="FORWARDED",source="default\/xwing",destination="empire"\} 1/);
  assert.match(text, /hubble_drop_total\{reason="POLICY_DENIED",protocol="UDP",source="10.0.2.3"\} 1/);
  assert.equal(shortPodName('coredns-5d78c9869d-abcde'), 'coredns');
  assert.equal(shortPodName('web-0'), 'web-0');
});

test('--metrics parsing and validation', () => {
  assert.deepEqual(parseMetricSpecs(['dns:query;ignoreAAAA', 'flow  tcp']).map((s) => [s.name, [...s.options]]), [
    ['dns', [['query', ''], ['ignoreAAAA', '']]],
    ['flow', []],
    ['tcp', []],
  ]);
  for (const [entries, message] of [
    [['flows'], /unknown metric "flows"/],
    [['tcp:query'], /unknown option "query" for tcp/],
    [['flow:sourceContext=planet'], /unknown context "planet"/],
    [['flow:=x'], /has no name/],
  ] as [string[], RegExp][]) {
    assert.throws(() => new FlowMetrics(entries), (e: unknown) => e instanceof MetricSpecError && message.test(e.message));
  }
});
