import type { OutputFormat } from './output-format.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, observer } from '@cilium-ts/api';
import { FlagValues, parseArgs, UsageError } from './args.js';
import { cpuText, debugEventTypeName, endpointShort, hexUint32 } from './debug-event-text.js';
import { buildDebugEventsRequest, DEBUG_EVENTS_FLAGS, DebugEventPrinter } from './debug-events-command.js';
import { GLOBAL_FLAGS } from './global-flags.js';
import type { TimeFormat } from './timestamp-format.js';

const T = { seconds: 1638352800n, nanos: 123_456_000 }; // 2021-12-01T10:00:00.123456Z

const events: observer.GetDebugEventsResponse[] = [
  observer.GetDebugEventsResponse.fromPartial({
    time: T, nodeName: 'node-1',
    debugEvent: {
      type: flow.DebugEventType.DBG_CT_LOOKUP4_1, hash: 0x1a2b, arg1: 0x0a000105, arg2: 0x0a000109, arg3: 0xa8ca0050,
      source: { ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
      message: 'Conntrack lookup 1/2: src=10.0.1.5:43210 dst=10.0.1.9:80',
    },
  }),
  observer.GetDebugEventsResponse.fromPartial({
    time: T, nodeName: 'node-1',
    debugEvent: { type: flow.DebugEventType.DBG_LOCAL_DELIVERY, hash: 0, arg1: 102, arg2: 256, arg3: 0, cpu: 3, source: { ID: 7 }, message: 'Attempting local delivery for container id 102 from seclabel 256' },
  }),
  observer.GetDebugEventsResponse.fromPartial({
    time: T, nodeName: 'node-2',
    debugEvent: { type: 99 as flow.DebugEventType, source: { ID: 1, labels: ['reserved:host'] }, message: 'Unknown message type 99 arg1=1 arg2=2 arg3=3' },
  }),
];

function render(output: OutputFormat, printNodeName = false, timeFormat: TimeFormat = 'StampMilli'): string {
  let out = '';
  const p = new DebugEventPrinter({ output, timeFormat, printNodeName, out: (s) => (out += s) });
  for (const e of events) p.response(e);
  p.finish();
  return out;
}

test('debug event fields as upstream formats them', () => {
  assert.equal(debugEventTypeName(flow.DebugEventType.DBG_CT_MATCH), 'DBG_CT_MATCH');
  assert.equal(debugEventTypeName(99), '99');
  assert.equal(endpointShort(undefined), 'N/A');
  assert.equal(endpointShort(flow.Endpoint.fromPartial({ ID: 5 })), 'ID: 5');
  assert.equal(endpointShort(flow.Endpoint.fromPartial({ ID: 5, namespace: 'ns' })), 'ID: 5', 'namespace without pod');
  assert.equal(endpointShort(flow.Endpoint.fromPartial({ ID: 5, namespace: 'ns', podName: 'p' })), 'ns/p (ID: 5)');
  assert.equal(endpointShort(flow.Endpoint.fromPartial({ ID: 1, labels: ['reserved:host'] })), 'reserved:host (ID: 1)');
  assert.equal(endpointShort(flow.Endpoint.fromPartial({ ID: 1, labels: ['reserved:host', 'k8s:a=b'] })), 'ID: 1');
  assert.deepEqual([hexUint32(undefined), hexUint32(0), hexUint32(0xdeadbeef)], ['N/A', '0x0', '0xdeadbeef']);
  assert.deepEqual([cpuText(undefined), cpuText(0), cpuText(3), cpuText(12), cpuText(-1)], ['N/A', '00', '03', '12', '-1']);
});

test('debug events compact: time, node, source endpoint, type, mark, CPU and the message', () => {
  assert.equal(
    render('compact', true),
    'Dec  1 10:00:00.123 [node-1]: default/xwing (ID: 101) DBG_CT_LOOKUP4_1 MARK: 0x1a2b CPU: N/A (Conntrack lookup 1/2: src=10.0.1.5:43210 dst=10.0.1.9:80)\n' +
      'Dec  1 10:00:00.123 [node-1]: ID: 7 DBG_LOCAL_DELIVERY MARK: 0x0 CPU: 03 (Attempting local delivery for container id 102 from seclabel 256)\n' +
      'Dec  1 10:00:00.123 [node-2]: reserved:host (ID: 1) 99 MARK: N/A CPU: N/A (Unknown message type 99 arg1=1 arg2=2 arg3=3)\n',
  );
  assert.match(render('compact'), /^Dec {2}1 10:00:00\.123: default\/xwing \(ID: 101\) DBG_CT_LOOKUP4_1 /);
});

test('debug events dict, table and json', () => {
  const dict = render('dict', true).split('------------\n');
  assert.equal(dict.length, 3);
  assert.equal(
    dict[1],
    '  TIMESTAMP: Dec  1 10:00:00.123\n       NODE: node-1\n       TYPE: DBG_LOCAL_DELIVERY\n       FROM: ID: 7\n       MARK: 0x0\n        CPU: 03\n' +
      '    MESSAGE: Attempting local delivery for container id 102 from seclabel 256\n',
  );
  const table = render('table', false, 'RFC3339').split('\n');
  // FROM is as wide as its widest cell + 3, then the empty column adds 3 more (Go's tabwriter, minwidth 2, padding 3).
  assert.equal(table[0], 'TIMESTAMP              FROM                         TYPE                 CPU/MARK     MESSAGE');
  assert.equal(table[2], '2021-12-01T10:00:00Z   ID: 7                        DBG_LOCAL_DELIVERY   03 0x0       Attempting local delivery for container id 102 from seclabel 256');
  const json = render('json').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(json[0], {
    type: 'DBG_CT_LOOKUP4_1', source: { ID: 101, identity: 256, namespace: 'default', labels: ['k8s:app=xwing'], pod_name: 'xwing' },
    hash: 6699, arg1: 167772421, arg2: 167772425, arg3: 2831810640, message: 'Conntrack lookup 1/2: src=10.0.1.5:43210 dst=10.0.1.9:80',
  });
  assert.equal(json[1].cpu, 3);
  const jsonpb = JSON.parse(render('jsonpb').split('\n')[0]!);
  assert.equal(jsonpb.node_name, 'node-1');
  assert.equal(jsonpb.time, '2021-12-01T10:00:00.123456Z');
  assert.equal(jsonpb.debug_event.type, 'DBG_CT_LOOKUP4_1');
});

test('debug events request: default 20 also with -f, --last, --all, --first, since/until', () => {
  const req = (...argv: string[]) => {
    const specs = [...DEBUG_EVENTS_FLAGS, ...GLOBAL_FLAGS];
    return buildDebugEventsRequest(new FlagValues(parseArgs(argv, specs), specs, {}), 1_638_352_800_000_000_000n);
  };
  assert.deepEqual([req().number, req().follow, req().first], [20n, false, false]);
  assert.deepEqual([req('-f').number, req('-f').follow], [20n, true]);
  assert.equal(req('--last', '5').number, 5n);
  assert.equal(req('--all').number, 18446744073709551615n);
  assert.deepEqual([req('--first', '3').number, req('--first', '3').first], [3n, true]);
  for (const bad of [['--first', '3', '--last', '2'], ['--first', '3', '-f'], ['--first', '3', '--all']]) assert.throws(() => req(...bad), UsageError, bad.join(' '));
  const r = req('--since', '1m', '--until', '2021-12-01T10:00:00Z');
  assert.deepEqual(r.since, { seconds: 1638352740n, nanos: 0 });
  assert.deepEqual(r.until, { seconds: 1638352800n, nanos: 0 });
  assert.equal(req('-f', '--until', '1m').until, undefined);
});
