import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { agentCallError } from './agent-client.js';
import { CniErrorCode } from './cni-error.js';

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

test('an agent without pod addresses left is CNI code 104 with a hint, not "try again later"', () => {
  const e = agentCallError('Allocate', 'unix:///run/cilium.sock', serviceError(status.RESOURCE_EXHAUSTED, 'pod CIDR 10.0.0.0/30 is exhausted (1 addresses in use)'));
  assert.equal(e.code, CniErrorCode.AddressesExhausted);
  assert.match(e.message, /10\.0\.0\.0\/30 is exhausted/);
  assert.match(e.details, /no pod address left/);
});

test('an unreachable agent is 11 (try again later); a refused request is 100', () => {
  assert.equal(agentCallError('Allocate', 't', serviceError(status.UNAVAILABLE, 'connect failed')).code, CniErrorCode.TryAgainLater);
  assert.equal(agentCallError('Allocate', 't', serviceError(status.INVALID_ARGUMENT, 'bad')).code, CniErrorCode.AgentRequestFailed);
});
