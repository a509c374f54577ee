/**
 * The agent's Bpf service (cilium.agent.v1.Bpf): read-only dumps of this node's pinned
 * BPF maps — an endpoint's policy map, connection tracking, ipcache and metrics — for
 * `cilium bpf ...`. Reads the kernel maps themselves, not the agent's view of them.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { BpfError, ctLifetimeNs, ctState, Datapath, reasonText } from '@cilium-ts/bpf';
import { InvalidArgumentError, NotFoundError, type ServiceRegistration } from '@cilium-ts/grpc';

/** What the Bpf service needs of the running agent (AgentCore satisfies it). */
export interface BpfServiceDeps {
  /** bpffs directory holding this node's pins. */
  bpfPinDir: string;
  /** Local endpoints by id. */
  endpoints: { get(q: { id?: number }): object | undefined };
  /** Labels of a known identity. */
  identities: { get(id: number): string[] | undefined };
}

type Unary<Req> = ServerUnaryCall<Req, unknown>;

const S = 1_000_000_000n;

/** Builds the Bpf service registration; the pinned maps are opened on first use. */
export function bpfService(deps: BpfServiceDeps): ServiceRegistration {
  let opened: Promise<Datapath> | undefined;
  const datapath = (): Promise<Datapath> => {
    opened ??= Datapath.open({ pinDir: deps.bpfPinDir, ctGcIntervalMs: 0 }).catch((err: unknown) => {
      opened = undefined;
      throw err;
    });
    return opened;
  };

  const implementation = {
    async policyGet(call: Unary<agent.BpfPolicyGetRequest>) {
      const id = call.request.endpointId;
      if (!id) throw new InvalidArgumentError('endpoint_id is required', { field: 'endpoint_id' });
      if (!deps.endpoints.get({ id })) throw new NotFoundError(`endpoint ${id} not found on this node`, { resource: 'endpoint' });
      const dp = await datapath();
      let entries;
      try {
        entries = dp.policyList(id);
      } catch (err) {
        if (err instanceof BpfError && err.errno === 2) throw new NotFoundError(`endpoint ${id} has no pinned policy map (not attached yet?)`, { resource: 'endpoint', cause: err });
        throw err;
      }
      const enforced = dp.enforcement(id);
      return agent.BpfPolicyGetResponse.fromPartial({
        endpointId: id,
        ingressEnforced: enforced.ingress,
        egressEnforced: enforced.egress,
        entries: entries
          .sort((a, b) => a.direction.localeCompare(b.direction) || a.identity - b.identity || a.protocol - b.protocol || a.port - b.port)
          .map((e) => ({
            direction: e.direction, identity: e.identity, identityLabels: e.identity === 0 ? [] : (deps.identities.get(e.identity) ?? []),
            protocol: e.protocol, port: e.port, deny: e.deny, proxyPort: e.proxyPort ?? 0,
          })),
      });
    },
    async ctList(_call: Unary<agent.BpfCtListRequest>) {
      const dp = await datapath();
      const now = process.hrtime.bigint();
      const entries = dp.ctList().map((e) => {
        const idle = now > e.lastSeenNs ? now - e.lastSeenNs : 0n;
        const life = ctLifetimeNs(e, e, dp.ctTimeouts);
        return {
          family: e.family, source: e.saddr, sourcePort: e.sport, destination: e.daddr, destinationPort: e.dport,
          protocol: e.protocol, endpointId: e.endpointId, direction: e.direction, packets: e.packets, bytes: e.bytes,
          peerIdentity: e.peerIdentity, tcpFlagsSeen: e.tcpFlagsSeen, seenReply: e.seenReply, state: ctState(e, e),
          ageSeconds: now > e.createdNs ? (now - e.createdNs) / S : 0n, idleSeconds: idle / S, expiresInSeconds: life > idle ? (life - idle) / S : 0n,
        };
      });
      entries.sort((a, b) => a.endpointId - b.endpointId || a.source.localeCompare(b.source) || a.sourcePort - b.sourcePort);
      return agent.BpfCtListResponse.fromPartial({ entries });
    },
    async ipcacheList(_call: Unary<agent.BpfIpcacheListRequest>) {
      const dp = await datapath();
      const entries = dp.ipcacheList().map((e) => ({ cidr: e.cidr, identity: e.identity, hostIp: e.hostIp ?? '' }));
      entries.sort((a, b) => a.cidr.localeCompare(b.cidr, 'en', { numeric: true }));
      return agent.BpfIpcacheListResponse.fromPartial({ entries });
    },
    async metricsList(_call: Unary<agent.BpfMetricsListRequest>) {
      const dp = await datapath();
      const entries = dp.metricsList()
        .sort((a, b) => a.reason - b.reason || a.direction.localeCompare(b.direction))
        .map((m) => ({ reason: m.reason, reasonText: reasonText(m.reason), direction: m.direction, packets: m.packets, bytes: m.bytes }));
      return agent.BpfMetricsListResponse.fromPartial({ entries });
    },
  };
  return { definition: agent.BpfService, implementation };
}
