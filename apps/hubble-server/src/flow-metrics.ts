// Hubble flow metrics (hubble_flows_processed_total, hubble_drop_total,
// hubble_tcp_flags_total, hubble_port_distribution_total) through OpenTelemetry; the
// Prometheus endpoint comes from libs/grpc's startTelemetry.
import { metrics, type Counter } from '@opentelemetry/api';
import { flow } from '@cilium-ts/api';

const TRACE_POINTS = [
  'to-endpoint', 'to-proxy', 'to-host', 'to-stack', 'to-overlay', 'from-endpoint',
  'from-proxy', 'from-host', 'from-stack', 'from-overlay', 'from-network', 'to-network',
];

const EVENT_TYPE_NAMES: Record<number, string> = { 1: 'Drop', 2: 'Debug', 3: 'Capture', 4: 'Trace', 5: 'PolicyVerdict', 129: 'L7' };

function l4Protocol(f: flow.Flow): string {
  if (f.l4?.TCP) return 'TCP';
  if (f.l4?.UDP) return 'UDP';
  if (f.l4?.ICMPv4) return 'ICMPv4';
  if (f.l4?.ICMPv6) return 'ICMPv6';
  return 'Unknown';
}

/** Counts flows into the Hubble metrics; create it after startTelemetry so the counters export. */
export class FlowMetrics {
  private readonly processed: Counter;
  private readonly drops: Counter;
  private readonly tcpFlags: Counter;
  private readonly ports: Counter;

  constructor() {
    const meter = metrics.getMeter('@cilium-ts/hubble-server');
    this.processed = meter.createCounter('hubble_flows_processed_total', { description: 'Total number of flows processed' });
    this.drops = meter.createCounter('hubble_drop_total', { description: 'Number of drops' });
    this.tcpFlags = meter.createCounter('hubble_tcp_flags_total', { description: 'TCP flag occurrences' });
    this.ports = meter.createCounter('hubble_port_distribution_total', { description: 'Numbers of packets distributed by destination port' });
  }

  /** Records one flow. */
  observe(f: flow.Flow): void {
    const type = f.eventType?.type ?? 0;
    const subType = f.eventType?.subType ?? 0;
    this.processed.add(1, {
      type: EVENT_TYPE_NAMES[type] ?? String(type),
      subtype: type === 4 ? (TRACE_POINTS[subType] ?? String(subType)) : '',
      verdict: flow.Verdict[f.verdict] ?? String(f.verdict),
    });
    const protocol = l4Protocol(f);
    if (f.verdict === flow.Verdict.DROPPED) {
      const reason = flow.DropReason[f.dropReasonDesc] ?? String(f.dropReason);
      this.drops.add(1, { reason: f.dropReasonDesc === 0 && f.dropReason !== 0 ? String(f.dropReason) : reason, protocol });
    }
    const tcp = f.l4?.TCP;
    if (tcp?.flags) {
      const family = f.IP?.ipVersion === flow.IPVersion.IPv6 ? 'IPv6' : 'IPv4';
      const fl = tcp.flags;
      if (fl.SYN) this.tcpFlags.add(1, { flag: fl.ACK ? 'SYN-ACK' : 'SYN', family });
      if (fl.FIN) this.tcpFlags.add(1, { flag: 'FIN', family });
      if (fl.RST) this.tcpFlags.add(1, { flag: 'RST', family });
    }
    const l4 = tcp ?? f.l4?.UDP;
    if (l4 && f.isReply !== true) this.ports.add(1, { protocol, port: String(l4.destinationPort) });
  }
}
