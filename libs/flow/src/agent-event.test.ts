import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { decodeAgentEvent } from './agent-event.js';

test('decodeAgentEvent: the agent\'s JSON shapes (snake_case and camelCase) map onto notifications', () => {
  const started = decodeAgentEvent(flow.AgentEventType.AGENT_STARTED, JSON.stringify({ time: '2026-11-21T23:00:00.123Z' }));
  assert.equal(started.agentStart?.time?.seconds, BigInt(Date.parse('2026-11-21T23:00:00Z') / 1000));
  assert.equal(started.agentStart?.time?.nanos, 123_000_000);
  const created = decodeAgentEvent(flow.AgentEventType.ENDPOINT_CREATED, JSON.stringify({ id: 3, labels: ['k8s:a=b'], pod_name: 'x', namespace: 'ns' }));
  assert.deepEqual(created.endpointUpdate, flow.EndpointUpdateNotification.fromPartial({ id: 3n, labels: ['k8s:a=b'], podName: 'x', namespace: 'ns' }));
  const policy = decodeAgentEvent(flow.AgentEventType.POLICY_DELETED, JSON.stringify({ revision: 9, rule_count: 4 }));
  assert.deepEqual([policy.type, policy.policyUpdate?.revision, policy.policyUpdate?.ruleCount], [flow.AgentEventType.POLICY_DELETED, 9n, 4n]);
  const regen = decodeAgentEvent(flow.AgentEventType.ENDPOINT_REGENERATE_FAILURE, JSON.stringify({ id: 5, error: 'boom' }));
  assert.equal(regen.endpointRegenerate?.error, 'boom');
  const ipc = decodeAgentEvent(flow.AgentEventType.IPCACHE_UPSERTED, JSON.stringify({ cidr: '10.0.0.1/32', identity: 300, oldIdentity: 2 }));
  assert.deepEqual([ipc.ipcacheUpdate?.cidr, ipc.ipcacheUpdate?.identity, ipc.ipcacheUpdate?.oldIdentity], ['10.0.0.1/32', 300, 2]);
  const unknown = decodeAgentEvent(99, '{"a":1}');
  assert.deepEqual(unknown.unknown, { type: '99', notification: '{"a":1}' });
  assert.equal(decodeAgentEvent(3, 'not json').unknown?.notification, 'not json');
});
