import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lb } from '@cilium-ts/api';
import { formatBpfLb, formatServices, parseAddress, serviceTypeText } from './service.js';

test('service list renders one line per backend, as upstream', () => {
  const s = lb.LbService.fromPartial({
    id: 1,
    frontend: { ip: '10.96.0.1', port: 443, protocol: 'TCP' },
    type: 'ClusterIP',
    backends: [{ ip: '10.0.1.5', port: 6443, weight: 1, state: 'active' }, { ip: '10.0.2.5', port: 6443, weight: 1, state: 'terminating' }],
  });
  assert.equal(
    formatServices([s]),
    'ID   Frontend            Service Type   Backend\n' +
      '1    10.96.0.1:443/TCP   ClusterIP      1 => 10.0.1.5:6443/TCP (active)\n' +
      '                                        2 => 10.0.2.5:6443/TCP (terminating)\n',
  );
});

test('service list: the Service Type column carries Local and sessionAffinity, as upstream\'s service flags', () => {
  const s = lb.LbService.fromPartial({
    id: 2, frontend: { ip: '0.0.0.0', port: 30080, protocol: 'TCP' }, type: 'NodePort', trafficPolicy: 'Local', sessionAffinityTimeoutSeconds: 600,
    backends: [{ ip: '10.0.1.5', port: 8080, weight: 1, state: 'active' }],
  });
  assert.match(formatServices([s]), /\n2 +0\.0\.0\.0:30080\/TCP +NodePort, Local, sessionAffinity +1 => 10\.0\.1\.5:8080\/TCP \(active\)\n$/);
  assert.equal(serviceTypeText({ type: 'ClusterIP', trafficPolicy: 'Cluster', sessionAffinityTimeoutSeconds: 0 }), 'ClusterIP');
  assert.equal(serviceTypeText({ type: 'ClusterIP', trafficPolicy: 'Cluster', sessionAffinityTimeoutSeconds: 10 }), 'ClusterIP, sessionAffinity');
});

test('bpf lb list renders service slots, backends and rev-NAT entries', () => {
  const res = lb.BpfLbListResponse.fromPartial({
    services: [
      { frontend: { ip: '10.96.0.1', port: 443, protocol: 'TCP' }, slot: 0, count: 1, revNatId: 1, flags: 'ClusterIP, non-routable' },
      { frontend: { ip: '10.96.0.1', port: 443, protocol: 'TCP' }, slot: 1, backendId: 3, revNatId: 1 },
    ],
    backends: [{ id: 3, address: { ip: 'fd00::5', port: 80, protocol: 'TCP' }, state: 'active' }],
    revNat: [{ id: 1, address: { ip: '10.96.0.1', port: 443, protocol: 'TCP' } }],
  });
  assert.match(formatBpfLb(res, 'services'), /10\.96\.0\.1:443\/TCP \(0\) +0\.0\.0\.0:0 \(1\) \(0\) \[ClusterIP, non-routable\]\n10\.96\.0\.1:443\/TCP \(1\) +\[fd00::5\]:80 \(1\) \(1\)\n$/);
  assert.match(formatBpfLb(res, 'backends'), /^BACKEND ID +BACKEND ADDRESS +STATE\n3 +\[fd00::5\]:80\/TCP +active\n$/);
  assert.match(formatBpfLb(res, 'revnat'), /\n1 +10\.96\.0\.1:443\n$/);
});

test('addresses: IP:PORT and [IPv6]:PORT; anything else is a usage error', () => {
  assert.deepEqual(parseAddress('10.0.0.1:80', '--frontend'), { ip: '10.0.0.1', port: 80 });
  assert.deepEqual(parseAddress('[fd00::1]:8080', '--backends'), { ip: 'fd00::1', port: 8080 });
  assert.throws(() => parseAddress('fd00::1:80', '--frontend'), /--frontend "fd00::1:80" is not IP:PORT/);
});
