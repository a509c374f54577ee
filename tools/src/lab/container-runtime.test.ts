import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentCapabilities, containerName, containerRunArgs, imageOf, labLabel, proxyCapabilities } from './container-runtime.js';
import { appMain, LabLayout } from './layout.js';
import { daemonSpecs, etcdSpec } from './service-spec.js';
import { uiSpec } from './ui-spec.js';

const layout = new LabLayout('lab');
const specs = [...daemonSpecs(layout, 2, false, 'native', 'ipv4', false), uiSpec(layout)];
const argsOf = (name: string): string[] => containerRunArgs(layout, specs.find((s) => s.name === name)!, [], '9.9.9');
const values = (args: string[], flag: string): string[] => args.flatMap((a, k) => (a === flag ? [args[k + 1]!] : []));

test('each container runs its image with exactly the command line the process lab passes (one description: service-spec.ts)', () => {
  for (const spec of specs) {
    const args = containerRunArgs(layout, spec, [], '9.9.9');
    const image = imageOf(spec.role as 'agent', '9.9.9');
    const k = args.indexOf(image);
    assert.ok(k > 0, `${spec.name}: runs ${image}`);
    const script = spec.argv.indexOf(appMain(spec.role));
    assert.ok(script > 0, `${spec.name}: runs ${appMain(spec.role)}`);
    assert.deepEqual(args.slice(k + 1), spec.argv.slice(script + 1), `${spec.name}: the spec's flags, nothing else`);
    assert.deepEqual(values(args, '--name'), [containerName(layout, spec.name)]);
    assert.ok(values(args, '--label').includes(`${labLabel}=lab`), `${spec.name}: labelled with the lab, for "down"`);
    // The proxy in its node's namespace, where the process lab's nsenter puts it; the others in the machine's.
    const network = spec.role === 'proxy' ? `ns:/run/netns/${layout.nodeNetns(spec.node!)}` : 'host';
    assert.deepEqual(values(args, '--network'), [network], `${spec.name}: the namespace the process lab runs it in`);
    assert.deepEqual(values(args, '--log-opt'), [`path=${spec.logFile}`], `${spec.name}: logs where the process lab logs`);
    assert.ok(!args.includes('--privileged'), `${spec.name}: not privileged`);
    assert.equal(values(args, '--cap-drop')[0], 'ALL');
    assert.ok(values(args, '-v').includes(`${layout.tlsDir}:${layout.tlsDir}:ro`), `${spec.name}: certificates read-only`);
  }
  assert.deepEqual(specs.map((s) => s.role).filter((r, k, all) => all.indexOf(r) === k), ['operator', 'agent', 'proxy', 'hubble-server', 'hubble-relay', 'hubble-ui'], 'every daemon of the lab has its container');
  assert.deepEqual(containerRunArgs(layout, specs[specs.length - 1]!, ['--bogus'], '9.9.9').at(-1), '--bogus', 'extra flags come last');
});

test('only the agent and the proxy get capabilities, bpffs and /proc/sys; the others only their own folders', () => {
  const agent = argsOf('agent-n1');
  assert.deepEqual(values(agent, '--cap-add'), agentCapabilities);
  assert.deepEqual(values(agent, '-v').sort(), [
    '/run/cilium-ts/lab/n1:/run/cilium-ts/lab/n1:rw',
    '/run/cilium-ts/lab/tls:/run/cilium-ts/lab/tls:ro',
    '/run/netns:/run/netns:rslave',
    '/sys/fs/bpf:/sys/fs/bpf:rw',
  ]);
  assert.ok(values(agent, '--security-opt').includes('unmask=/proc/sys'));
  const mounts = (name: string): string[] => values(argsOf(name), '-v').map((m) => m.split(':')[0]!).sort();
  assert.deepEqual(mounts('operator'), ['/run/cilium-ts/lab/operator', '/run/cilium-ts/lab/tls']);
  assert.deepEqual(mounts('hubble-server-n2'), ['/run/cilium-ts/lab/n2', '/run/cilium-ts/lab/tls']);
  assert.deepEqual(mounts('hubble-relay'), ['/run/cilium-ts/lab/tls']);
  assert.deepEqual(mounts('hubble-ui'), ['/run/cilium-ts/lab/tls']);
  const proxy = argsOf('proxy-n2');
  assert.deepEqual(values(proxy, '--cap-add'), proxyCapabilities);
  assert.deepEqual(values(proxy, '-v').sort(), [
    '/run/cilium-ts/lab/n2:/run/cilium-ts/lab/n2:rw',
    '/run/cilium-ts/lab/tls:/run/cilium-ts/lab/tls:ro',
    '/sys/fs/bpf:/sys/fs/bpf:rw',
  ], 'the proxy: the agent\'s pins and its node folder (its socket), no /run/netns');
  assert.ok(values(proxy, '--security-opt').includes('unmask=/proc/sys'));
  for (const name of ['operator', 'hubble-server-n1', 'hubble-relay', 'hubble-ui']) {
    assert.deepEqual(values(argsOf(name), '--cap-add'), [], `${name}: no capability`);
    assert.ok(!values(argsOf(name), '--security-opt').includes('unmask=/proc/sys'));
  }
});

test('etcd is not a container of the lab', () => {
  assert.throws(() => containerRunArgs(layout, etcdSpec(layout), [], '9.9.9'), /etcd runs as a process/);
});
