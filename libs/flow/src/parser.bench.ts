// Benchmark of the per-event hot path, `npm run bench`: decode a datapath record, write it into
// the ring and encode its GetFlowsResponse, three ways, interleaved and repeated in one run:
//   compact   decodeRecord -> DatapathFlowEvent -> encodeFlowEventResponse (hubble-server, no filters)
//   filtered  the same plus the compiled filters on event.flow (built once per event)
//   flow      decodeRecord -> toFlow() -> encodeFlowResponse(flow) (a Flow object per event: the old path)
// It prints CPU ns per event and each path's ratio to `flow` (CPU time is steadier than wall
// time on a shared machine).
import { flow } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import type { HubbleEvent } from './events.js';
import { DatapathFlowEvent } from './flow-event.js';
import { compileFlowFilters } from './filters/registry.js';
import { encodeFlowEventResponse, encodeFlowResponse } from './flow-response-encoder.js';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { Parser } from './parser.js';
import { RingBuffer } from './ring-buffer.js';

const ep = { id: 1, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'], hostIfindex: 7, hostIfname: 'lxc1' };
const parser = new Parser({
  nodeName: 'node-1',
  endpoints: { getEndpointByIP: (ip) => (ip === '10.0.1.5' ? ep : undefined), getEndpointByID: (id) => (id === 1 ? ep : undefined) },
});
const records = Array.from({ length: 64 }, (_, i) =>
  encodeEventRecord({
    type: 4, subType: 5, source: 1, egress: true, ifindex: 7,
    packet: buildPacket({ src: '10.0.1.5', dst: `10.0.2.${i}`, protocol: 'tcp', sport: 40000 + i, dport: 80, tcpFlags: TcpFlags.syn }),
  }),
);
const filter = compileFlowFilters(
  [flow.FlowFilter.fromPartial({ sourcePod: ['default/'], destinationPort: ['80'], tcpFlags: [{ SYN: true }] })],
  [flow.FlowFilter.fromPartial({ destinationIp: ['10.0.3.0/24'] })],
);
const ring = new RingBuffer<HubbleEvent>(65535);
let bytes = 0;

/** The i-th sample decoded (every sample is a flow record). */
function flowAt(i: number): DatapathFlowEvent {
  const e = parser.decodeRecordAt(records[i & 63]!, 1_700_000_000 + (i >> 10), i, 'node-1');
  if (!(e instanceof DatapathFlowEvent)) throw new Error('bench sample is not a datapath flow record');
  return e;
}

const paths: Record<string, (i: number) => void> = {
  compact: (i) => {
    const e = flowAt(i);
    ring.write(e);
    bytes += (e.wire = encodeFlowEventResponse(e)).length;
  },
  filtered: (i) => {
    const e = flowAt(i);
    ring.write(e);
    if (filter(e.flow)) bytes += (e.wire = encodeFlowEventResponse(e)).length;
  },
  'filtered, Flow not kept': (i) => {
    const e = flowAt(i);
    ring.write(e);
    if (filter(e.toFlow())) bytes += (e.wire = encodeFlowEventResponse(e)).length;
  },
  flow: (i) => {
    const e = flowAt(i);
    const f = e.toFlow();
    ring.write({ kind: 'flow', time: f.time!, nodeName: e.nodeName, flow: f });
    bytes += encodeFlowResponse(f, e.nodeName, f.time).length;
  },
};

function cpuNsPerEvent(run: (i: number) => void, n: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) run(i);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / n;
}

const N = 100_000;
const ROUNDS = 5;
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (const [, run] of Object.entries(paths)) cpuNsPerEvent(run, 20_000);
for (let r = 0; r < ROUNDS; r++) for (const [name, run] of Object.entries(paths)) samples[name]!.push(cpuNsPerEvent(run, N));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.flow!);
for (const name of Object.keys(paths)) {
  const m = median(samples[name]!);
  console.log(`${name.padEnd(24)} ${m.toFixed(0).padStart(6)} ns/event CPU (median of ${ROUNDS} interleaved rounds of ${N})  x flow path: ${(base / m).toFixed(2)} faster`);
}
console.log(`(${bytes} bytes encoded)`);
