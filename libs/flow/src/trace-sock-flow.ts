// Flows of the socket load balancer's trace sock records (type 7, bpf/trace-sock.h), as
// upstream Hubble's sock parser makes them: Type SOCK, verdict TRACED before a translation
// and TRANSLATED after it, sock_xlate_point, socket cookie and cgroup id, the socket's pod as
// the source (its address as the source IP, no source port), the record's address and port
// as the destination, swapped for the reverse points; summary "TCP" / "UDP". The service
// comes from the record's service id, so the flows that show a backend (post-xlate-fwd,
// pre-xlate-rev) carry it as well (upstream looks the address up among frontends and finds
// none for those): destination_service on the forward points, source_service on the reverse.
import { flow, Timestamp } from '@cilium-ts/api';
import { decodeTraceSockRecord, XlatePoint } from '@cilium-ts/bpf/events';
import type { EndpointResolver } from './endpoint-resolver.js';
import { flowUuid } from './flow-uuid.js';
import type { EndpointGetter, ServiceGetter } from './getters.js';

/** What sockTraceFlow needs to name endpoints and services. */
export interface SockTraceSources {
  resolver: EndpointResolver;
  endpoints?: EndpointGetter;
  services?: ServiceGetter;
}

const NO_NAMES = Object.freeze([]) as unknown as string[];

/** flow.Service of a service id, undefined when unknown or nameless. */
function serviceOf(services: ServiceGetter | undefined, id: number): flow.Service | undefined {
  const s = id !== 0 ? services?.getServiceByID(id) : undefined;
  return s && s.name !== '' ? { name: s.name, namespace: s.namespace } : undefined;
}

/** The flow.Flow of a trace sock record (throws TraceSockRecordError for a short one). */
export function sockTraceFlow(bytes: Uint8Array, seconds: number, nanos: number, nodeName: string, uuidSeq: number, src: SockTraceSources): flow.Flow {
  const r = decodeTraceSockRecord(bytes);
  const local = r.endpointId !== 0 ? src.endpoints?.getEndpointByID(r.endpointId) : undefined;
  const localIp = (r.ipv6 ? local?.ipv6 : local?.ipv4) || undefined;
  const pod = src.resolver.resolve(localIp, 0, r.endpointId, 0);
  const peer = src.resolver.resolve(r.address, 0, 0, 0);
  const reverse = r.xlatePoint === XlatePoint.preDirectionRev || r.xlatePoint === XlatePoint.postDirectionRev;
  const translated = r.xlatePoint === XlatePoint.postDirectionFwd || r.xlatePoint === XlatePoint.postDirectionRev;
  const service = serviceOf(src.services, r.revNatIndex);
  const podSide = { ip: localIp ?? '', port: 0, ep: pod };
  const peerSide = { ip: r.address, port: r.port, ep: peer };
  const [s, d] = reverse ? [peerSide, podSide] : [podSide, peerSide];
  const ports = { sourcePort: s.port, destinationPort: d.port };
  const l4: flow.Layer4 | undefined = r.protocol === 6 ? { TCP: { ...ports, flags: undefined } } : r.protocol === 17 ? { UDP: ports } : undefined;
  return flow.Flow.fromPartial({
    time: Timestamp.create({ seconds: BigInt(seconds), nanos }),
    verdict: r.xlatePoint === 0 || r.xlatePoint > 4 ? flow.Verdict.VERDICT_UNKNOWN : translated ? flow.Verdict.TRANSLATED : flow.Verdict.TRACED,
    IP: { source: s.ip, destination: d.ip, ipVersion: r.ipv6 ? flow.IPVersion.IPv6 : flow.IPVersion.IPv4, encrypted: false },
    l4,
    source: { ...s.ep, labels: [...s.ep.labels], workloads: [] },
    destination: { ...d.ep, labels: [...d.ep.labels], workloads: [] },
    Type: flow.FlowType.SOCK,
    nodeName,
    sourceNames: NO_NAMES,
    destinationNames: NO_NAMES,
    eventType: { type: bytes[0]!, subType: r.xlatePoint },
    sourceService: reverse ? service : undefined,
    destinationService: reverse ? undefined : service,
    sockXlatePoint: r.xlatePoint as flow.SocketTranslationPoint,
    socketCookie: r.socketCookie,
    cgroupId: r.cgroupId,
    uuid: uuidSeq === 0 ? '' : flowUuid(uuidSeq),
    Summary: r.protocol === 6 ? 'TCP' : r.protocol === 17 ? 'UDP' : 'Unknown',
  });
}
