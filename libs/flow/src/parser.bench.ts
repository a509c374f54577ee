// Benchmark of the per-event hot path: decode a datapath record into a Flow, run the
// compiled filters on it, and write it into the ring. Run with `npm run bench`.
import { agent, flow, timestampFromNanos } from '@cilium-ts/api';
import { encodeDatapathRecord } from './datapath-record.js';
import type { HubbleEvent } from './events.js';
import { compileFlowFilters } from './filters/registry.js';
import { buildPacket } from './packet-builder.js';
import { Parser } from './parser.js';
import { RingBuffer } from './ring-buffer.js';

const ep = { id: 1, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] };
const parser = new Parser({
  nodeName: 'node-1',
  endpoints: { getEndpointByIP: (ip) => (ip === '10.0.1.5' ? ep : undefined), getEndpointByID: (id) => (id === 1 ? ep : undefined) },
});
const event = agent.MonitorEvent.fromPartial({
  time: timestampFromNanos(1_700_000_000_000_000_000n),
  datapath: encodeDatapathRecord({
    type: 4, subType: 5, source: 1, egress: true,
    packet: buildPacket({ src: '10.0.1.5', dst: '10.0.2.9', l4: { kind: 'tcp', sourcePort: 40000, destinationPort: 80, flags: { SYN: true } } }),
  }),
});
const filter = compileFlowFilters(
  [flow.FlowFilter.fromPartial({ sourcePod: ['default/'], destinationPort: ['80'], tcpFlags: [{ SYN: true }] })],
  [flow.FlowFilter.fromPartial({ destinationIp: ['10.0.3.0/24'] })],
);
const ring = new RingBuffer<HubbleEvent>(4095);

function run(n: number): number {
  let matched = 0;
  for (let i = 0; i < n; i++) {
    const e = parser.decode(event);
    if (e.kind === 'flow' && filter(e.flow)) matched++;
    ring.write(e);
  }
  return matched;
}

run(5_000);
const n = 50_000;
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const matched = run(n);
const cpu = process.cpuUsage(cpu0);
const ns = Number(process.hrtime.bigint() - t0) / n;
const cpuNs = ((cpu.user + cpu.system) * 1000) / n;
// CPU time is steadier than wall time on a shared machine.
console.log(`decode+filter+ring: ${ns.toFixed(0)} ns/event wall (${(1e9 / ns).toFixed(0)} events/s), ${cpuNs.toFixed(0)} ns/event CPU, matched ${matched}/${n}`);
