/** Conversions from the agent's internal objects to its API messages. */
import { agent, timestampFromNanos } from '@cilium-ts/api';
import { endpointOptionsToApi } from './api-endpoint-config.js';
import type { Endpoint } from './endpoint-manager.js';

/** An endpoint as the API shows it. */
export function endpointToApi(ep: Endpoint): agent.Endpoint {
  return agent.Endpoint.fromPartial({
    id: ep.id,
    containerId: ep.containerId,
    netns: ep.netns,
    ifname: ep.ifname,
    hostIfname: ep.hostIfname,
    hostIfindex: ep.hostIfindex,
    ipv4: ep.ipv4,
    ipv6: ep.ipv6,
    mac: ep.mac,
    hostMac: ep.hostMac,
    labels: ep.labels,
    identity: ep.identity,
    podName: ep.podName,
    namespace: ep.namespace,
    state: ep.state,
    policyRevision: BigInt(ep.policy.revision),
    ingressEnforced: ep.policy.ingressEnforced,
    egressEnforced: ep.policy.egressEnforced,
    createdAt: timestampFromNanos(BigInt(ep.createdAtNs)),
    options: endpointOptionsToApi(ep),
    runtime: ep.runtime ?? '',
  });
}

/** An identity as the API shows it. */
export function identityToApi(id: number, labels: string[], references: number): agent.Identity {
  return agent.Identity.fromPartial({ id, labels, references, reserved: id > 0 && id < 256 });
}
