import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cniConfig, cniEnv, podIpFromResult, podIpsFromResult } from './cni.js';
import { LabLayout } from './layout.js';

const layout = new LabLayout('lab');

test('CNI environment and stdin config for a pod', () => {
  const env = cniEnv(layout, 1, 'web', 'ADD');
  assert.equal(env.CNI_COMMAND, 'ADD');
  assert.equal(env.CNI_CONTAINERID, 'cts-lab-n1-web');
  assert.equal(env.CNI_NETNS, '/run/netns/cts-lab-n1-web');
  assert.equal(env.CNI_IFNAME, 'eth0');
  assert.equal(env.CNI_ARGS, 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-n1');
  assert.deepEqual(cniConfig(layout, 2, { app: 'web' }), {
    cniVersion: '1.0.0',
    name: 'cilium-ts',
    type: 'cilium-cni',
    'agent-socket': 'unix:///run/cilium-ts/lab/n2/agent.sock',
    runtimeConfig: { labels: { app: 'web' } },
  });
  assert.equal(cniConfig(layout, 2, { app: 'web' }, 1450).mtu, 1450);
});

test('pod IP comes from ips[0].address; errors and empty results are rejected', () => {
  assert.equal(podIpFromResult('{"cniVersion":"1.0.0","ips":[{"address":"10.200.1.7/32"}]}'), '10.200.1.7');
  assert.deepEqual(podIpsFromResult('{"cniVersion":"1.0.0","ips":[{"address":"10.200.1.7/32"},{"address":"fd00:10:200::107/128"}]}'), {
    ip: '10.200.1.7',
    ipv6: 'fd00:10:200::107',
  });
  assert.deepEqual(podIpsFromResult('{"cniVersion":"1.0.0","ips":[{"address":"10.200.1.7/32"}]}'), { ip: '10.200.1.7' });
  assert.throws(() => podIpFromResult('{"cniVersion":"1.0.0","ips":[]}'), /no ips\[0\]\.address/);
  assert.throws(() => podIpFromResult('{"cniVersion":"1.0.0","code":7,"msg":"bad"}'), /error 7: bad/);
  assert.throws(() => podIpFromResult('oops'), /no JSON/);
});
