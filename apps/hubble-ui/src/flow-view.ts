// The page's view of one flow: the few fields the map and the table show, in plain JSON
// (what the backend streams to the page, so the page never decodes protobuf). The page
// shares the shape: it is declared once, in page/flow-view.ts.
import { flow } from '@cilium-ts/api';
import { reservedIdentityName } from '@cilium-ts/flow';

export type { FlowView, WorkloadView } from './page/flow-view.js';
import type { FlowView, WorkloadView } from './page/flow-view.js';

const VERDICTS: Record<number, FlowView['verdict']> = {
  [flow.Verdict.FORWARDED]: 'FORWARDED',
  [flow.Verdict.DROPPED]: 'DROPPED',
  [flow.Verdict.ERROR]: 'ERROR',
  [flow.Verdict.AUDIT]: 'AUDIT',
  [flow.Verdict.REDIRECTED]: 'REDIRECTED',
};

/** APP_LABELS are the labels that name a workload, first match wins. */
const APP_LABELS = ['k8s:app=', 'k8s:app.kubernetes.io/name=', 'k8s:k8s-app=', 'container:app='];

/** workloadOf names one endpoint: namespace + app label (else the pod), else its reserved identity or IP. */
export function workloadOf(ep: flow.Endpoint | undefined, ip: string): WorkloadView {
  const namespace = ep?.namespace ?? '';
  const pod = ep?.podName ?? '';
  let app = '';
  for (const prefix of APP_LABELS) {
    const l = ep?.labels.find((x) => x.startsWith(prefix));
    if (l !== undefined) {
      app = l.slice(prefix.length);
      break;
    }
  }
  if (app === '' && ep?.workloads[0]?.name) app = ep.workloads[0].name;
  const name = app || pod;
  if (name !== '') return { id: `${namespace}/${name}`, namespace, name, pod };
  const reserved = ep && ep.identity > 0 ? reservedIdentityName(ep.identity) : undefined;
  if (reserved !== undefined) return { id: `reserved:${reserved}`, namespace: '', name: reserved, pod: '' };
  return { id: `ip:${ip}`, namespace: '', name: ip || 'unknown', pod: '' };
}

function l4Of(f: flow.Flow): { port: number; protocol: string; flags: string } {
  const l4 = f.l4;
  if (l4?.TCP) {
    const fl = l4.TCP.flags;
    const flags = fl ? (['SYN', 'ACK', 'FIN', 'RST', 'PSH'] as const).filter((k) => fl[k]).join(',') : '';
    return { port: l4.TCP.destinationPort, protocol: 'tcp', flags };
  }
  if (l4?.UDP) return { port: l4.UDP.destinationPort, protocol: 'udp', flags: '' };
  if (l4?.SCTP) return { port: l4.SCTP.destinationPort, protocol: 'sctp', flags: '' };
  if (l4?.ICMPv4) return { port: 0, protocol: 'icmpv4', flags: '' };
  if (l4?.ICMPv6) return { port: 0, protocol: 'icmpv6', flags: '' };
  return { port: 0, protocol: '', flags: '' };
}

function l7Of(f: flow.Flow): { kind: string; text: string } {
  const l7 = f.l7;
  if (!l7) return { kind: '', text: '' };
  const dir = l7.type === flow.L7FlowType.RESPONSE ? 'response' : 'request';
  if (l7.http) return { kind: 'http', text: `HTTP ${dir} ${l7.http.method} ${l7.http.url}${l7.http.code ? ` ${l7.http.code}` : ''}` };
  if (l7.dns) return { kind: 'dns', text: `DNS ${dir} ${l7.dns.query}${l7.dns.ips.length ? ` ${l7.dns.ips.join(',')}` : ''}` };
  if (l7.kafka) return { kind: 'kafka', text: `Kafka ${dir} ${l7.kafka.apiKey} ${l7.kafka.topic}` };
  return { kind: 'l7', text: `L7 ${dir}` };
}

/** toFlowView makes the page's view of a flow. */
export function toFlowView(f: flow.Flow): FlowView {
  const { port, protocol, flags } = l4Of(f);
  const l7 = l7Of(f);
  const verdict = VERDICTS[f.verdict] ?? 'UNKNOWN';
  const drop = verdict === 'DROPPED' ? flow.dropReasonToJSON(f.dropReasonDesc) : '';
  return {
    time: f.time ? Number(f.time.seconds) * 1000 + Math.floor(f.time.nanos / 1e6) : 0,
    node: f.nodeName,
    source: workloadOf(f.source, f.IP?.source ?? ''),
    destination: workloadOf(f.destination, f.IP?.destination ?? ''),
    port,
    protocol,
    verdict,
    l7: l7.kind,
    summary: l7.text || drop || (flags ? `TCP Flags: ${flags}` : f.Summary),
    reply: f.isReply ?? f.reply,
  };
}
