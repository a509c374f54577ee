// Converts the agent's AgentEvent (type number + JSON details) into flow.AgentEvent.
import { flow } from '@cilium-ts/api';

/** Builds a flow.AgentEvent from an agent event type and its JSON details; unknown shapes become `unknown`. */
export function decodeAgentEvent(type: number, json: string): flow.AgentEvent {
  let details: unknown;
  try {
    details = json === '' ? {} : JSON.parse(json);
  } catch {
    details = undefined;
  }
  const unknown = { type: flow.AgentEventType[type] ?? String(type), notification: json };
  if (details === null || typeof details !== 'object') return flow.AgentEvent.fromPartial({ type, unknown });
  switch (type) {
    case flow.AgentEventType.AGENT_STARTED:
      return flow.AgentEvent.fromPartial({ type, agentStart: flow.TimeNotification.fromJSON(details) });
    case flow.AgentEventType.POLICY_UPDATED:
    case flow.AgentEventType.POLICY_DELETED:
      return flow.AgentEvent.fromPartial({ type, policyUpdate: flow.PolicyUpdateNotification.fromJSON(details) });
    case flow.AgentEventType.ENDPOINT_REGENERATE_SUCCESS:
    case flow.AgentEventType.ENDPOINT_REGENERATE_FAILURE:
      return flow.AgentEvent.fromPartial({ type, endpointRegenerate: flow.EndpointRegenNotification.fromJSON(details) });
    case flow.AgentEventType.ENDPOINT_CREATED:
    case flow.AgentEventType.ENDPOINT_DELETED:
      return flow.AgentEvent.fromPartial({ type, endpointUpdate: flow.EndpointUpdateNotification.fromJSON(details) });
    case flow.AgentEventType.IPCACHE_UPSERTED:
    case flow.AgentEventType.IPCACHE_DELETED:
      return flow.AgentEvent.fromPartial({ type, ipcacheUpdate: flow.IPCacheNotification.fromJSON(details) });
    case flow.AgentEventType.SERVICE_UPSERTED:
      return flow.AgentEvent.fromPartial({ type, serviceUpsert: flow.ServiceUpsertNotification.fromJSON(details) });
    case flow.AgentEventType.SERVICE_DELETED:
      return flow.AgentEvent.fromPartial({ type, serviceDelete: flow.ServiceDeleteNotification.fromJSON(details) });
    default:
      return flow.AgentEvent.fromPartial({ type, unknown });
  }
}
