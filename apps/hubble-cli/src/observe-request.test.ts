import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flow, type observer } from '@cilium-ts/api';
import { FlagValues, UsageError, parseArgs } from './args.js';
import { GLOBAL_FLAGS } from './global-flags.js';
import { OBSERVE_FLAGS } from './observe-command.js';
import { ALL_FLOWS, buildGetFlowsRequest } from './observe-request.js';
import { goJson, toProtoJson } from './proto-json.js';
import { parseTimeArg } from './time-parse.js';

const NOW = 1_700_000_000_000_000_000n;
const specs = [...OBSERVE_FLAGS, ...GLOBAL_FLAGS];

function request(args: string): observer.GetFlowsRequest {
  const parsed = parseArgs(args === '' ? [] : args.split(' '), specs);
  return buildGetFlowsRequest(parsed, new FlagValues(parsed, specs, {}), NOW);
}

const json = (filters: flow.FlowFilter[]): string[] => filters.map((f) => goJson(toProtoJson('flow.FlowFilter', flow.FlowFilter, f)));

describe('observe filters (HUBBLE-API.md §1.1 verified examples)', () => {
  it('--from-pod xwing --verdict DROPPED', () => {
    const r = request('--from-pod xwing --verdict DROPPED');
    assert.deepEqual(json(r.whitelist), ['{"source_pod":["xwing"],"verdict":["DROPPED"]}']);
    assert.deepEqual(r.blacklist, []);
  });

  it('--pod default/xwing --to-port 80 --protocol tcp gives a left and a right filter', () => {
    const r = request('--pod default/xwing --to-port 80 --protocol tcp');
    assert.deepEqual(json(r.whitelist), [
      '{"source_pod":["default/xwing"],"protocol":["tcp"],"destination_port":["80"]}',
      '{"destination_pod":["default/xwing"],"protocol":["tcp"],"destination_port":["80"]}',
    ]);
  });

  it('--namespace ... --not --to-port 53 --type trace:to-endpoint --ipv4 --tcp-flags syn,ack --identity 42', () => {
    const r = request('--namespace kube-system --not --to-port 53 --type trace:to-endpoint --ipv4 --tcp-flags syn,ack --identity 42');
    assert.deepEqual(json(r.whitelist), [
      '{"source_pod":["kube-system/"],"event_type":[{"type":4,"match_sub_type":true}],"source_identity":[42],"tcp_flags":[{"SYN":true,"ACK":true}],"ip_version":["IPv4"]}',
      '{"destination_pod":["kube-system/"],"event_type":[{"type":4,"match_sub_type":true}],"destination_identity":[42],"tcp_flags":[{"SYN":true,"ACK":true}],"ip_version":["IPv4"]}',
    ]);
    assert.deepEqual(json(r.blacklist), ['{"destination_port":["53"]}']);
  });

  it('repeating a flag appends to the same field; --allowlist/--denylist take proto or camel JSON', () => {
    const r = request('--from-ip 10.0.0.1 --from-ip 10.0.0.0/8 --allowlist {"reply":[true]} --denylist {"dnsQuery":["x"]}');
    assert.deepEqual(json(r.whitelist), ['{"source_ip":["10.0.0.1","10.0.0.0/8"]}', '{"reply":[true]}']);
    assert.deepEqual(json(r.blacklist), ['{"dns_query":["x"]}']);
  });

  it('maps --type names and numbers, -t shorthand and -n', () => {
    const r = request('-t drop -t 129 -t agent:policy-updated -t trace:5');
    assert.deepEqual(r.whitelist[0].eventType, [
      { type: 1, matchSubType: false, subType: 0 },
      { type: 129, matchSubType: false, subType: 0 },
      { type: 130, matchSubType: true, subType: 3 },
      { type: 4, matchSubType: true, subType: 5 },
    ]);
    assert.deepEqual(request('-n default').whitelist.map((f) => [f.sourcePod, f.destinationPod]), [[['default/'], []], [[], ['default/']]]);
  });

  it('refuses conflicting, doubled or trailing --not and bad values', () => {
    assert.throws(() => request('--label a=b --to-label c=d'), /--label and --to-label cannot be combined/);
    assert.throws(() => request('--port 80 --to-port 80'), UsageError);
    assert.throws(() => request('--pod a --from-pod b'), UsageError);
    assert.throws(() => request('--not --not --pod a'), /consecutive --not/);
    assert.throws(() => request('--pod a --not'), /trailing --not/);
    assert.throws(() => request('--verdict dropped'), /invalid --verdict/);
    assert.throws(() => request('--identity abc'), /identity/);
    assert.throws(() => request('--tcp-flags syn,foo'), /unknown TCP flag/);
    assert.throws(() => request('--type bogus'), /unable to parse type/);
    assert.throws(() => request('--allowlist {nope'), /invalid --allowlist/);
    assert.throws(() => request('--traffic-direction sideways'), /invalid --traffic-direction value "sideways"/);
    assert.throws(() => request('--workload /'), /invalid --workload value/);
    assert.throws(() => request('--workload a --from-workload b'), /--workload and --from-workload cannot be combined/);
  });

  it('maps the newer upstream filters: workloads, traffic direction, uuid, trace id', () => {
    const r = request('--from-workload Deployment/frontend --traffic-direction ingress --uuid 0b5f --trace-id 4bf9');
    assert.deepEqual(json(r.whitelist), [
      '{"source_workload":[{"name":"frontend","kind":"Deployment"}],"trace_id":["4bf9"],"uuid":["0b5f"],"traffic_direction":["INGRESS"]}',
    ]);
    const w = request('--workload backend --not --traffic-direction egress');
    assert.deepEqual(json(w.whitelist), ['{"source_workload":[{"name":"backend"}]}', '{"destination_workload":[{"name":"backend"}]}']);
    assert.deepEqual(json(w.blacklist), ['{"traffic_direction":["EGRESS"]}']);
  });
});

describe('observe selectors (HUBBLE-API.md §1.1 table)', () => {
  const sel = (args: string) => {
    const r = request(args);
    return { number: r.number, follow: r.follow, since: r.since !== undefined, until: r.until !== undefined, first: r.first };
  };
  it('maps each selector combination', () => {
    assert.deepEqual(sel(''), { number: 20n, follow: false, since: false, until: false, first: false });
    assert.deepEqual(sel('--last 7'), { number: 7n, follow: false, since: false, until: false, first: false });
    assert.deepEqual(sel('--all'), { number: ALL_FLOWS, follow: false, since: false, until: false, first: false });
    assert.deepEqual(sel('-f'), { number: 0n, follow: true, since: false, until: false, first: false });
    assert.deepEqual(sel('-f --last 3'), { number: 3n, follow: true, since: false, until: false, first: false });
    assert.deepEqual(sel('--follow --all'), { number: ALL_FLOWS, follow: true, since: false, until: false, first: false });
    assert.deepEqual(sel('--since 5m'), { number: 0n, follow: false, since: true, until: false, first: false });
    assert.deepEqual(sel('--since 5m --all'), { number: 0n, follow: false, since: true, until: false, first: false });
    assert.deepEqual(sel('--since 5m --last 4'), { number: 4n, follow: false, since: true, until: false, first: false });
    assert.deepEqual(sel('--since 5m --until 1m'), { number: 0n, follow: false, since: true, until: true, first: false });
    assert.deepEqual(sel('--since 5m --until 1m -f'), { number: 0n, follow: true, since: true, until: false, first: false });
    assert.deepEqual(sel('--until 1m'), { number: 0n, follow: false, since: false, until: true, first: false });
    assert.deepEqual(sel('--until 1m --first 3'), { number: 3n, follow: false, since: false, until: true, first: true });
    assert.deepEqual(sel('--first 5'), { number: 5n, follow: false, since: false, until: false, first: true });
    assert.throws(() => sel('--first 5 --last 2'), /--first and --last/);
  });

  it('turns durations into now − d and accepts RFC3339 and RFC1123Z', () => {
    assert.deepEqual(request('--since 1h30m').since, { seconds: 1_700_000_000n - 5400n, nanos: 0 });
    assert.deepEqual(parseTimeArg('2021-12-01T10:00:00.123456789Z'), { seconds: 1638352800n, nanos: 123456789 });
    assert.deepEqual(parseTimeArg('2021-12-01T12:00:00+02:00'), { seconds: 1638352800n, nanos: 0 });
    assert.deepEqual(parseTimeArg('Wed, 01 Dec 2021 10:00:00 +0000'), { seconds: 1638352800n, nanos: 0 });
    assert.deepEqual(parseTimeArg('2021-12-01'), { seconds: 1638316800n, nanos: 0 });
    assert.deepEqual(parseTimeArg('2021-12-01T10Z'), { seconds: 1638352800n, nanos: 0 });
    assert.deepEqual(parseTimeArg('2021-12-01T12:30+02:00'), { seconds: 1638354600n, nanos: 0 });
    assert.throws(() => parseTimeArg('yesterday'), /cannot parse time/);
    assert.throws(() => parseTimeArg('2021-12-01T10'), /cannot parse time/);
  });
});
