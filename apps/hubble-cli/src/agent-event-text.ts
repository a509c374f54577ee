// Text of agent events as upstream hubble prints them (`getAgentEventDetails`).
import { flow } from '@cilium-ts/api';
import { formatTimestamp, type TimeFormat } from './timestamp-format.js';

function hostPort(a: flow.ServiceUpsertNotificationAddr): string {
  return a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}

/** agentEventTypeName is the AgentEventType enum name (e.g. `POLICY_UPDATED`). */
export function agentEventTypeName(e: flow.AgentEvent): string {
  return flow.agentEventTypeToJSON(e.type);
}

/** agentEventDetails is the DETAILS column: the notification's fields, or `UNKNOWN`. */
export function agentEventDetails(e: flow.AgentEvent, timeFormat: TimeFormat): string {
  const T = flow.AgentEventType;
  switch (e.type) {
    case T.AGENT_EVENT_UNKNOWN:
      if (e.unknown) return `type: ${e.unknown.type}, notification: ${e.unknown.notification}`;
      break;
    case T.AGENT_STARTED:
      if (e.agentStart) return `start time: ${formatTimestamp(timeFormat, e.agentStart.time)}`;
      break;
    case T.POLICY_UPDATED:
    case T.POLICY_DELETED:
      if (e.policyUpdate) return `labels: [${e.policyUpdate.labels.join(',')}], revision: ${e.policyUpdate.revision}, count: ${e.policyUpdate.ruleCount}`;
      break;
    case T.ENDPOINT_REGENERATE_SUCCESS:
    case T.ENDPOINT_REGENERATE_FAILURE: {
      const r = e.endpointRegenerate;
      if (r) return `id: ${r.id}, labels: [${r.labels.join(',')}]${r.error !== '' ? `, error: ${r.error}` : ''}`;
      break;
    }
    case T.ENDPOINT_CREATED:
    case T.ENDPOINT_DELETED: {
      const u = e.endpointUpdate;
      if (u) return `id: ${u.id}${u.namespace !== '' ? `, namespace: ${u.namespace}` : ''}${u.podName !== '' ? `, pod name: ${u.podName}` : ''}`;
      break;
    }
    case T.IPCACHE_UPSERTED:
    case T.IPCACHE_DELETED: {
      const i = e.ipcacheUpdate;
      if (!i) break;
      let s = `cidr: ${i.cidr}, identity: ${i.identity}`;
      if (i.oldIdentity !== undefined) s += `, old identity: ${i.oldIdentity}`;
      if (i.hostIp !== '') s += `, host ip: ${i.hostIp}`;
      if (i.oldHostIp !== '') s += `, old host ip: ${i.oldHostIp}`;
      return `${s}, encrypt key: ${i.encryptKey}`;
    }
    case T.SERVICE_UPSERTED: {
      const svc = e.serviceUpsert;
      if (!svc) break;
      let s = `id: ${svc.id}`;
      if (svc.frontendAddress) s += `, frontend: ${hostPort(svc.frontendAddress)}`;
      if (svc.backendAddresses.length > 0) s += `, backends: [${svc.backendAddresses.map(hostPort).join(',')}]`;
      if (svc.type !== '') s += `, type: ${svc.type}`;
      if (svc.trafficPolicy !== '') s += `, traffic policy: ${svc.trafficPolicy}`;
      if (svc.namespace !== '') s += `, namespace: ${svc.namespace}`;
      if (svc.name !== '') s += `, name: ${svc.name}`;
      return s;
    }
    case T.SERVICE_DELETED:
      if (e.serviceDelete) return `id: ${e.serviceDelete.id}`;
      break;
  }
  return 'UNKNOWN';
}
