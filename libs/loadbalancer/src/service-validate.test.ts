import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceValidationError } from './service-error.js';
import { checkServiceUpdate, validateService, type ServiceSpec } from './service-validate.js';

const limits = { podCidrs: ['10.0.0.0/16', 'fd00:10:200::/104'], maxBackends: 4 };
const spec = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  id: 7,
  frontend: { ip: '10.96.0.10', port: 80 },
  backends: [{ ip: '10.0.1.5', port: 8080 }, { ip: '10.0.2.5', port: 8080, weight: 3, state: 'Terminating' }],
  ...over,
});

test('validateService: defaults and canonical addresses', () => {
  const s = validateService(spec({ frontend: { ip: 'FD00:96::000A', port: 443, protocol: 'udp' }, backends: [{ ip: 'fd00:10:200::5', port: 8443 }] }), limits);
  assert.deepEqual(s, {
    id: 7,
    frontend: { ip: 'fd00:96::a', port: 443, protocol: 'UDP' },
    type: 'ClusterIP',
    backends: [{ ip: 'fd00:10:200::5', port: 8443, weight: 1, state: 'active' }],
    trafficPolicy: 'Cluster',
  });
  const v4 = validateService(spec({ type: 'NodePort', sessionAffinityTimeoutSeconds: 30, name: 'web', namespace: 'default' }), limits);
  assert.equal(v4.backends[1]!.state, 'terminating');
  assert.equal(v4.backends[1]!.weight, 3);
  assert.equal(v4.sessionAffinityTimeoutSeconds, 30);
  assert.equal(v4.name, 'web');
  // 0.0.0.0:port: the NodePort on every node address (Cilium's surrogate frontend).
  assert.equal(validateService(spec({ type: 'NodePort', frontend: { ip: '0.0.0.0', port: 30080 } }), limits).frontend.ip, '0.0.0.0');
});

test('validateService: bad input names the field', () => {
  const cases: Array<[Partial<ServiceSpec>, string, RegExp]> = [
    [{ id: 0 }, 'id', /not a service id/],
    [{ id: 70000 }, 'id', /1-65535/],
    [{ frontend: { ip: '10.96.0.300', port: 80 } }, 'frontend.ip', /not an IPv4 or IPv6 address/],
    [{ frontend: { ip: '10.0.3.3', port: 80 } }, 'frontend.ip', /inside the pod CIDR 10.0.0.0\/16/],
    [{ frontend: { ip: '10.96.0.10', port: 0 } }, 'frontend.port', /not a port/],
    [{ frontend: { ip: '10.96.0.10', port: 65536 } }, 'frontend.port', /not a port/],
    [{ frontend: { ip: '10.96.0.10', port: 80, protocol: 'ICMP' } }, 'frontend.protocol', /not one of TCP, UDP, SCTP/],
    [{ type: 'Headless' }, 'type', /not one of/],
    [{ backends: [{ ip: 'x', port: 1 }] }, 'backends[0].ip', /not an IPv4/],
    [{ backends: [{ ip: '10.0.1.1', port: 1 }, { ip: '10.0.1.2', port: 70000 }] }, 'backends[1].port', /not a port/],
    [{ backends: [{ ip: 'fd00::1', port: 1 }] }, 'backends[0].ip', /is IPv6 but the frontend is IPv4/],
    [{ backends: [{ ip: '10.0.1.1', port: 1, state: 'sleeping' }] }, 'backends[0].state', /not one of active, terminating/],
    [{ backends: [{ ip: '10.0.1.1', port: 1, weight: -1 }] }, 'backends[0].weight', /not a weight/],
    [{ backends: [{ ip: '10.0.1.1', port: 1 }, { ip: '10.0.1.1', port: 1 }] }, 'backends[1]', /listed twice/],
    [{ backends: Array.from({ length: 5 }, (_, i) => ({ ip: `10.0.1.${i + 1}`, port: 80 })) }, 'backends', /5 backends exceed the 4 backend slots/],
    [{ sessionAffinityTimeoutSeconds: 100000 }, 'sessionAffinityTimeoutSeconds', /not a timeout/],
    [{ namespace: 'Bad_NS' }, 'namespace', /DNS-1123/],
    [{ frontend: { ip: '0.0.0.0', port: 30080 } }, 'frontend.ip', /NodePort frontend only/],
    [{ frontend: { ip: '::', port: 30080 }, backends: [], type: 'LoadBalancer' }, 'frontend.ip', /NodePort frontend only/],
  ];
  for (const [over, field, msg] of cases) {
    assert.throws(
      () => validateService(spec(over), limits),
      (err: unknown) => err instanceof ServiceValidationError && err.field === field && msg.test(err.message),
      `${JSON.stringify(over)} should be refused on ${field}`,
    );
  }
});

test('checkServiceUpdate: an id keeps its frontend, a frontend has one id', () => {
  const a = validateService(spec(), limits);
  const moved = validateService(spec({ frontend: { ip: '10.96.0.11', port: 80 } }), limits);
  assert.throws(() => checkServiceUpdate([a], moved), /frontend: service 7 already has the frontend 10.96.0.10:80\/TCP/);
  const other = validateService(spec({ id: 8 }), limits);
  assert.throws(() => checkServiceUpdate([a], other), /already the frontend of service 7/);
  checkServiceUpdate([a], validateService(spec({ backends: [] }), limits));
});
