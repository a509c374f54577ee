import type { OutputFormat } from './output-format.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, observer } from '@cilium-ts/api';
import { AgentEventPrinter, buildAgentEventsRequest } from './agent-events-command.js';
import { FlagValues, parseArgs } from './args.js';
import { AGENT_EVENTS_FLAGS } from './agent-events-command.js';
import { GLOBAL_FLAGS } from './global-flags.js';
import { formatTimestamp, TIME_FORMATS, timeFormatFlag } from './timestamp-format.js';

const T = { seconds: 1638352800n, nanos: 123_456_000 }; // 2021-12-01T10:00:00.123456Z

const events: observer.GetAgentEventsResponse[] = [
  observer.GetAgentEventsResponse.fromPartial({
    time: T, nodeName: 'node-1',
    agentEvent: { type: flow.AgentEventType.POLICY_UPDATED, policyUpdate: { labels: ['k8s:app=web', 'k8s:env=prod'], revision: 7n, ruleCount: 2n } },
  }),
  observer.GetAgentEventsResponse.fromPartial({
    time: T, nodeName: 'node-1',
    agentEvent: { type: flow.AgentEventType.IPCACHE_UPSERTED, ipcacheUpdate: { cidr: '10.0.1.5/32', identity: 256, oldIdentity: 300, hostIp: '192.168.1.1', encryptKey: 0 } },
  }),
  observer.GetAgentEventsResponse.fromPartial({
    time: T, nodeName: 'node-1',
    agentEvent: {
      type: flow.AgentEventType.SERVICE_UPSERTED,
      serviceUpsert: { id: 3, frontendAddress: { ip: 'fd00::1', port: 80 }, backendAddresses: [{ ip: '10.0.1.5', port: 8080 }], type: 'ClusterIP', namespace: 'default', name: 'web' },
    },
  }),
  observer.GetAgentEventsResponse.fromPartial({ time: T, nodeName: 'node-1', agentEvent: { type: flow.AgentEventType.ENDPOINT_CREATED, endpointUpdate: { id: 101n, namespace: 'default', podName: 'xwing' } } }),
  observer.GetAgentEventsResponse.fromPartial({ time: T, nodeName: 'node-1', agentEvent: { type: flow.AgentEventType.AGENT_STARTED, agentStart: { time: T } } }),
];

function render(output: OutputFormat, printNodeName = false, timeFormat: (typeof TIME_FORMATS)[number] = 'StampMilli'): string {
  let out = '';
  const p = new AgentEventPrinter({ output, timeFormat, printNodeName, out: (s) => (out += s) });
  for (const e of events) p.response(e);
  p.finish();
  return out;
}

test('agent events compact: upstream type and details text', () => {
  assert.equal(
    render('compact'),
    'Dec  1 10:00:00.123: POLICY_UPDATED (labels: [k8s:app=web,k8s:env=prod], revision: 7, count: 2)\n' +
      'Dec  1 10:00:00.123: IPCACHE_UPSERTED (cidr: 10.0.1.5/32, identity: 256, old identity: 300, host ip: 192.168.1.1, encrypt key: 0)\n' +
      'Dec  1 10:00:00.123: SERVICE_UPSERTED (id: 3, frontend: [fd00::1]:80, backends: [10.0.1.5:8080], type: ClusterIP, namespace: default, name: web)\n' +
      'Dec  1 10:00:00.123: ENDPOINT_CREATED (id: 101, namespace: default, pod name: xwing)\n' +
      'Dec  1 10:00:00.123: AGENT_STARTED (start time: Dec  1 10:00:00.123)\n',
  );
});

test('agent events dict, table with node names, json', () => {
  const dict = render('dict', true).split('------------\n');
  assert.equal(dict.length, 5);
  assert.equal(dict[3], '  TIMESTAMP: Dec  1 10:00:00.123\n       NODE: node-1\n       TYPE: ENDPOINT_CREATED\n    DETAILS: id: 101, namespace: default, pod name: xwing\n');
  const table = render('table', false, 'RFC3339').split('\n');
  assert.match(table[0]!, /^TIMESTAMP {14}TYPE {15}DETAILS$/);
  assert.match(table[4]!, /^2021-12-01T10:00:00Z {3}ENDPOINT_CREATED {3}id: 101, namespace: default, pod name: xwing$/);
  const json = render('json').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(json[0].type, 'POLICY_UPDATED');
  assert.equal(json[0].policy_update.revision, '7');
});

test('agent events request: default 20 also with -f, --last, --all, since/until', () => {
  const req = (...argv: string[]) => {
    const specs = [...AGENT_EVENTS_FLAGS, ...GLOBAL_FLAGS];
    return buildAgentEventsRequest(new FlagValues(parseArgs(argv, specs), specs, {}), 1_638_352_800_000_000_000n);
  };
  assert.deepEqual([req().number, req().follow], [20n, false]);
  assert.deepEqual([req('-f').number, req('-f').follow], [20n, true]);
  assert.equal(req('--last', '5').number, 5n);
  assert.equal(req('--all').number, 18446744073709551615n);
  const r = req('--since', '1m', '--until', '2021-12-01T10:00:00Z');
  assert.deepEqual(r.since, { seconds: 1638352740n, nanos: 0 });
  assert.deepEqual(r.until, { seconds: 1638352800n, nanos: 0 });
  assert.equal(req('-f', '--until', '1m').until, undefined);
});

test('--time-format layouts', () => {
  const want: Record<(typeof TIME_FORMATS)[number], string> = {
    YearMonthDay: '2021-12-01',
    YearMonthDayHour: '2021-12-01T10Z',
    YearMonthDayHourMinute: '2021-12-01T10:00Z',
    StampMilli: 'Dec  1 10:00:00.123',
    RFC3339: '2021-12-01T10:00:00Z',
    RFC3339Milli: '2021-12-01T10:00:00.123Z',
    RFC3339Micro: '2021-12-01T10:00:00.123456Z',
    RFC3339Nano: '2021-12-01T10:00:00.123456Z',
    RFC1123Z: 'Wed, 01 Dec 2021 10:00:00 +0000',
  };
  for (const f of TIME_FORMATS) assert.equal(formatTimestamp(f, T), want[f], f);
  assert.equal(formatTimestamp('RFC3339Nano', { seconds: 1638352800n, nanos: 0 }), '2021-12-01T10:00:00Z');
  // Go's .999 layouts drop trailing zeros, and the dot with them.
  assert.equal(formatTimestamp('RFC3339Milli', { seconds: 1638352800n, nanos: 940_000_000 }), '2021-12-01T10:00:00.94Z');
  assert.equal(formatTimestamp('RFC3339Micro', { seconds: 1638352800n, nanos: 100_000 }), '2021-12-01T10:00:00.0001Z');
  assert.equal(formatTimestamp('RFC3339Milli', { seconds: 1638352800n, nanos: 999_999 }), '2021-12-01T10:00:00Z');
  assert.equal(timeFormatFlag('rfc3339milli'), 'RFC3339Milli');
  assert.throws(() => timeFormatFlag('Kitchen'), /invalid --time-format "Kitchen": use YearMonthDay, /);
  assert.equal(formatTimestamp('RFC3339', undefined), 'N/A');
});
