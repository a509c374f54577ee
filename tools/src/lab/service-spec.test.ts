import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabLayout, parseNetnsName, repoRoot } from './layout.js';
import { agentSpec, daemonSpecs, etcdSpec, hubbleServerSpec, operatorSpec, relaySpec } from './service-spec.js';
import { labTcpPorts, podMtu, trafficTargets, upStepCount } from './cmd-up.js';

const layout = new LabLayout('lab');

/** The value following flag in argv. */
const flag = (argv: string[], f: string): string | undefined => {
  const k = argv.indexOf(f);
  return k < 0 ? undefined : argv[k + 1];
};

test('agent command line follows the agent contract', () => {
  const s = agentSpec(layout, 1);
  assert.equal(s.argv[1], `${repoRoot}/apps/agent/dist/main.js`);
  assert.deepEqual(s.argv.slice(2), [
    '--node-name', 'n1',
    '--cluster-name', 'default',
    '--node-netns', '/run/netns/cts-lab-n1',
    '--node-ip', '192.168.200.1',
    '--routing-mode', 'native',
    '--kvstore-endpoints', 'https://127.0.0.1:2379',
    '--kvstore-prefix', 'cilium',
    '--kvstore-trusted-ca-file', '/run/cilium-ts/lab/tls/etcd-ca.crt',
    '--kvstore-cert-file', '/run/cilium-ts/lab/tls/etcd-client.crt',
    '--kvstore-key-file', '/run/cilium-ts/lab/tls/etcd-client.key',
    '--kvstore-lease-ttl', '15s',
    '--state-dir', '/run/cilium-ts/lab/n1/state',
    '--bpf-pin-dir', '/sys/fs/bpf/cilium-ts/lab-n1',
    '--enable-node-port',
    '--listen', 'unix:///run/cilium-ts/lab/n1/agent.sock',
    '--proxy-address', 'unix:///run/cilium-ts/lab/n1/proxy.sock',
    '--hubble-address', '127.0.0.1:4251',
    '--metrics-port', '9701',
    '--log-level', 'info',
  ]);
  assert.equal(s.logFile, '/run/cilium-ts/lab/logs/agent-n1.log');
  const dual = agentSpec(layout, 2, true).argv;
  assert.equal(flag(dual, '--node-ipv6'), 'fd00:192:168:200::2');
  assert.ok(dual.includes('--enable-ipv6'));
  assert.equal(flag(dual, '--pod-cidr-v6'), undefined, 'the IPv6 pod CIDR comes from the operator');
  assert.equal(flag(agentSpec(layout, 1, false, 'tunnel').argv, '--routing-mode'), 'tunnel');
  assert.equal(flag(agentSpec(layout, 1, true, 'tunnel', 'ipv6').argv, '--underlay-protocol'), 'ipv6');
  assert.equal(agentSpec(layout, 1, true, 'tunnel').argv.includes('--underlay-protocol'), false, 'IPv4 underlay is the agent\'s default');
  assert.equal(podMtu({ routingMode: 'tunnel' }), 1450, 'pods leave room for the VXLAN header');
  assert.equal(podMtu({ routingMode: 'tunnel', underlay: 'ipv6' }), 1430, 'the outer IPv6 header is 20 bytes longer');
  assert.equal(podMtu({ routingMode: 'native' }), 0);
  assert.deepEqual(daemonSpecs(layout, 2, false, 'tunnel').filter((d) => d.role === 'agent').map((d) => flag(d.argv, '--routing-mode')), ['tunnel', 'tunnel']);
  assert.deepEqual(s.ready, { kind: 'agent-status', socket: '/run/cilium-ts/lab/n1/agent.sock' });
});

test('operator, hubble-server and relay command lines', () => {
  const op = operatorSpec(layout).argv;
  assert.equal(flag(op, '--cluster-pool-ipv4-cidr'), '10.200.0.0/16');
  assert.equal(flag(op, '--cluster-pool-ipv4-mask-size'), '24');
  assert.equal(flag(op, '--cluster-pool-ipv6-cidr'), 'fd00:10:200::/104');
  assert.equal(flag(op, '--cluster-pool-ipv6-mask-size'), '120');
  assert.equal(flag(op, '--listen'), 'unix:///run/cilium-ts/lab/operator/operator.sock');
  // Every etcd client presents the lab's client certificate over TLS.
  for (const argv of [op, agentSpec(layout, 1).argv]) {
    assert.equal(flag(argv, '--kvstore-endpoints'), 'https://127.0.0.1:2379');
    assert.equal(flag(argv, '--kvstore-trusted-ca-file'), '/run/cilium-ts/lab/tls/etcd-ca.crt');
    assert.equal(flag(argv, '--kvstore-cert-file'), '/run/cilium-ts/lab/tls/etcd-client.crt');
    assert.equal(flag(argv, '--kvstore-key-file'), '/run/cilium-ts/lab/tls/etcd-client.key');
  }

  const hs = hubbleServerSpec(layout, 2);
  assert.equal(hs.argv.some((a) => a.startsWith('--kvstore')), false, 'hubble-server learns its peers from the agent');
  assert.equal(flag(hs.argv, '--agent-socket'), 'unix:///run/cilium-ts/lab/n2/agent.sock');
  assert.equal(flag(hs.argv, '--listen-address'), '127.0.0.1:4252');
  assert.equal(flag(hs.argv, '--node-name'), 'n2');
  assert.deepEqual(hs.ready, { kind: 'tcp', host: '127.0.0.1', port: 4252 });

  // hubble-servers: mTLS with the lab's Hubble CA.
  assert.equal(flag(hs.argv, '--hubble-tls-cert-file'), '/run/cilium-ts/lab/tls/hubble-server.crt');
  assert.equal(flag(hs.argv, '--hubble-tls-key-file'), '/run/cilium-ts/lab/tls/hubble-server.key');
  assert.equal(flag(hs.argv, '--hubble-tls-client-ca-files'), '/run/cilium-ts/lab/tls/hubble-ca.crt');

  const relay = relaySpec(layout).argv;
  assert.equal(flag(relay, '--listen-address'), '127.0.0.1:4245');
  assert.equal(flag(relay, '--peer-service'), '127.0.0.1:4251');
  // The relay reads the hubble-servers (and the Peer service) with its client certificate.
  assert.equal(flag(relay, '--tls-hubble-server-ca-files'), '/run/cilium-ts/lab/tls/hubble-ca.crt');
  assert.equal(flag(relay, '--tls-client-cert-file'), '/run/cilium-ts/lab/tls/hubble-relay-client.crt');
  assert.equal(flag(relay, '--tls-client-key-file'), '/run/cilium-ts/lab/tls/hubble-relay-client.key');
  assert.equal(flag(relay, '--peer-service-tls-server-name'), 'n1.default.hubble-grpc.cilium.io');
  // Its own port: plaintext on loopback by default, TLS with --relay-tls.
  assert.equal(flag(relay, '--tls-relay-server-cert-file'), undefined);
  assert.ok(relay.includes('--disable-server-tls'));
  const relayTls = daemonSpecs(layout, 1, false, 'native', 'ipv4', true).at(-1)!.argv;
  assert.equal(flag(relayTls, '--tls-relay-server-cert-file'), '/run/cilium-ts/lab/tls/hubble-relay-server.crt');
  assert.equal(flag(relayTls, '--tls-relay-server-key-file'), '/run/cilium-ts/lab/tls/hubble-relay-server.key');
  assert.equal(relayTls.includes('--disable-server-tls'), false);
  // Every metrics endpoint stays on its default, loopback.
  for (const d of daemonSpecs(layout, 1)) assert.equal(flag(d.argv, '--metrics-host'), undefined, d.name);
});

test('etcd listens on 127.0.0.1 only, over TLS, requiring client and peer certificates, with its data under the run dir', () => {
  const s = etcdSpec(layout);
  assert.equal(flag(s.argv, '--data-dir'), '/run/cilium-ts/lab/etcd');
  for (const f of ['--listen-client-urls', '--listen-peer-urls', '--advertise-client-urls']) {
    assert.match(flag(s.argv, f)!, /^https:\/\/127\.0\.0\.1:\d+$/);
  }
  assert.ok(s.argv.includes('--client-cert-auth') && s.argv.includes('--peer-client-cert-auth'));
  for (const f of ['--trusted-ca-file', '--peer-trusted-ca-file']) assert.equal(flag(s.argv, f), '/run/cilium-ts/lab/tls/etcd-ca.crt');
  for (const f of ['--cert-file', '--peer-cert-file']) assert.equal(flag(s.argv, f), '/run/cilium-ts/lab/tls/etcd-server.crt');
  assert.deepEqual(s.ready, {
    kind: 'etcd', endpoint: 'https://127.0.0.1:2379', caFile: '/run/cilium-ts/lab/tls/etcd-ca.crt',
    certFile: '/run/cilium-ts/lab/tls/etcd-client.crt', keyFile: '/run/cilium-ts/lab/tls/etcd-client.key',
  });
});

test('daemons start operator first, then agent, proxy and hubble-server per node, relay last', () => {
  assert.deepEqual(
    daemonSpecs(layout, 2).map((s) => s.name),
    ['operator', 'agent-n1', 'proxy-n1', 'hubble-server-n1', 'agent-n2', 'proxy-n2', 'hubble-server-n2', 'hubble-relay'],
  );
  assert.equal(upStepCount({ nodes: 2, policy: true }), 15, 'with the demo service');
  assert.equal(upStepCount({ nodes: 1, policy: false, runtime: 'podman' }), 9);
});

test('the proxy of a node runs in its namespace, on the agent\'s pins, where the agent\'s --proxy-address points', () => {
  const specs = daemonSpecs(layout, 2, true);
  const proxy = specs.find((s) => s.name === 'proxy-n2')!;
  assert.deepEqual(proxy.argv.slice(0, 2), ['nsenter', '--net=/run/netns/cts-lab-n2']);
  assert.equal(flag(proxy.argv, '--bpf-pin-dir'), flag(specs.find((s) => s.name === 'agent-n2')!.argv, '--bpf-pin-dir'));
  assert.equal(`unix://${flag(proxy.argv, '--listen')!.slice('unix://'.length)}`, flag(specs.find((s) => s.name === 'agent-n2')!.argv, '--proxy-address'));
  assert.equal(flag(proxy.argv, '--proxy-listen-host'), '::', 'dual-stack: one listener for both families');
  assert.equal(flag(daemonSpecs(layout, 1).find((s) => s.role === 'proxy')!.argv, '--proxy-listen-host'), '127.0.0.1');
  assert.equal(proxy.cmdlineMatch, proxy.argv[3], 'status and down find it by its script, not by nsenter');
});

test('every listening port of a lab is distinct', () => {
  const p = labTcpPorts(9);
  assert.equal(new Set(p).size, p.length);
});

test('netns names parse back into node and pod, and only for this lab', () => {
  assert.deepEqual(parseNetnsName(layout, 'cts-lab-n2'), { node: 2 });
  assert.deepEqual(parseNetnsName(layout, 'cts-lab-n1-web'), { node: 1, pod: 'web' });
  assert.equal(parseNetnsName(layout, 'cts-lab2-n1'), undefined);
  assert.equal(parseNetnsName(layout, 'cts-lab-x'), undefined);
  assert.equal(layout.podNetns(1, 'client'), 'cts-lab-n1-client');
});

test('traffic generators hit their own node and up to two others', () => {
  assert.deepEqual(trafficTargets(1, 1), [1]);
  assert.deepEqual(trafficTargets(2, 2), [2, 1]);
  assert.deepEqual(trafficTargets(3, 3), [3, 1, 2]);
  assert.deepEqual(trafficTargets(4, 5), [4, 5, 1]);
});
