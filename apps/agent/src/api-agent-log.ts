/**
 * The agent's AgentLog service (agent_log.proto): the newest log records the agent wrote
 * (agent-log.ts), for `cilium debuginfo`.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { agentLog } from '@cilium-ts/api';
import type { ServiceRegistration } from '@cilium-ts/grpc';
import type { AgentLog } from './agent-log.js';

/** Builds the AgentLog service registration. */
export function agentLogService(log: Pick<AgentLog, 'recent'>): ServiceRegistration {
  const implementation = {
    async recentLog(call: ServerUnaryCall<agentLog.RecentLogRequest, unknown>) {
      return agentLog.RecentLogResponse.fromPartial({ lines: log.recent(call.request.maxLines) });
    },
  };
  return { definition: agentLog.AgentLogService, implementation };
}
