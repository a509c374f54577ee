import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCniArgs, parseCniEnv } from './cni-env.js';
import { CniError } from './cni-error.js';
import { compareVersions, podIdentityLabels, validateNetConfig } from './net-config.js';
import { hostIfnameFor } from './pod-network.js';

describe('net-config', () => {
  it('defaults the agent socket and accepts a bare socket path', () => {
    assert.equal(validateNetConfig({ cniVersion: '1.1.0', name: 'n', type: 'cilium-cni' }).agentSocket, 'unix:///run/cilium-ts/agent.sock');
    assert.equal(validateNetConfig({ cniVersion: '1.1.0', name: 'n', type: 'cilium-cni', 'agent-socket': '/x.sock' }).agentSocket, 'unix:///x.sock');
  });

  it('builds sorted identity labels without the pod name', () => {
    assert.deepEqual(podIdentityLabels('default', [['app', 'web'], ['app.kubernetes.io/name', 'shop'], ['container:x', 'y'], ['app', 'web']]), [
      'container:x=y',
      'k8s:app.kubernetes.io/name=shop',
      'k8s:app=web',
      'k8s:io.kubernetes.pod.namespace=default',
    ]);
    assert.deepEqual(podIdentityLabels('', []), []);
  });

  it('reads runtime and node-netns (a name under /run/netns or a path) and rejects bad ones with code 7', () => {
    const c = validateNetConfig({ cniVersion: '1.0.0', name: 'n', type: 'cilium-cni', runtime: 'podman', 'node-netns': 'cts-lab-n1' });
    assert.equal(c.runtime, 'podman');
    assert.equal(c.nodeNetns, '/run/netns/cts-lab-n1');
    assert.equal(validateNetConfig({ cniVersion: '1.0.0', name: 'n', type: 'cilium-cni', 'node-netns': '/proc/1/ns/net' }).nodeNetns, '/proc/1/ns/net');
    assert.equal(validateNetConfig({ cniVersion: '1.0.0', name: 'n', type: 'cilium-cni' }).nodeNetns, '');
    for (const bad of [{ runtime: 'Pod Man' }, { runtime: 3 }, { 'node-netns': '../x' }, { 'node-netns': '' }]) {
      assert.throws(
        () => validateNetConfig({ cniVersion: '1.0.0', name: 'n', type: 'cilium-cni', ...bad }),
        (e: unknown) => e instanceof CniError && e.code === 7 && new RegExp(Object.keys(bad)[0]!).test(e.message),
        JSON.stringify(bad),
      );
    }
  });

  it('CILIUM_LABELS is no CNI_ARGS key (labels of podman containers come from podman, read by the agent)', () => {
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0' };
    assert.throws(
      () => parseCniEnv({ ...env, CNI_ARGS: 'K8S_POD_NAME=c1;CILIUM_LABELS=app=web' }),
      (e: unknown) => e instanceof CniError && e.code === 4 && /unknown key\(s\) CILIUM_LABELS/.test(e.message),
    );
  });

  it('rejects label keys with "="', () => {
    assert.throws(
      () => validateNetConfig({ cniVersion: '1.0.0', name: 'n', type: 'cilium-cni', runtimeConfig: { labels: { 'a=b': 'c' } } }),
      (e: unknown) => e instanceof CniError && e.code === 7,
    );
  });

  it('compares versions numerically', () => {
    assert.ok(compareVersions('0.10.0', '0.4.0') > 0);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
  });
});

describe('cni-env', () => {
  it('parses CNI_ARGS with IgnoreUnknown', () => {
    assert.deepEqual(parseCniArgs('IgnoreUnknown=true;K8S_POD_NAME=a;X=b=c'), { IgnoreUnknown: 'true', K8S_POD_NAME: 'a', X: 'b=c' });
  });

  it('does not require attachment variables for STATUS and GC', () => {
    assert.equal(parseCniEnv({ CNI_COMMAND: 'status' }).command, 'STATUS');
    assert.equal(parseCniEnv({ CNI_COMMAND: 'GC', CNI_CONTAINERID: 'ignored' }).containerId, '');
  });

  it('allows DEL without CNI_NETNS', () => {
    assert.equal(parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' }).netns, '');
  });

  it('names host veths lxc + 11 hex chars', () => {
    assert.match(hostIfnameFor('abc'), /^lxc[0-9a-f]{11}$/);
    assert.equal(hostIfnameFor('abc'), 'lxcba7816bf8f0');
  });
});
