// cilium.operator.v1.Operator served over gRPC (registered through @cilium-ts/grpc).
import { operator as api, timestampFromDate } from '@cilium-ts/api';
import type { ServiceRegistration } from '@cilium-ts/grpc';
import type { Operator } from './operator.js';

/** The Operator service registration for createServer/serve. */
export function operatorService(op: Operator): ServiceRegistration {
  return {
    definition: api.OperatorService,
    implementation: {
      async status(): Promise<api.StatusResponse> {
        const s = await op.status();
        return api.StatusResponse.fromPartial({
          version: s.version,
          clusterName: s.clusterName,
          state: s.state,
          message: s.message,
          leader: s.leader,
          leaderId: s.leaderId,
          kvstoreConnected: s.kvstoreConnected,
          clusterPoolCidr: s.clusterPoolCidr,
          nodeMaskSize: s.nodeMaskSize,
          allocations: s.allocations,
          lastHeartbeat: s.lastHeartbeat ? timestampFromDate(s.lastHeartbeat) : undefined,
          startedAt: timestampFromDate(s.startedAt),
          identities: s.identities,
        });
      },
    },
  };
}
