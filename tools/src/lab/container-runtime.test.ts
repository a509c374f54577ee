import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentCapabilities, containerName, containerRunArgs, imageOf, labLabel } from './container-runtime.js';
import { LabLayout } from './layout.js';
import { daemonSpecs, etcdSpec } from './service-spec.js';

const layout = new LabLayout('lab');
const specs = daemonSpecs(layout, 2, false, 'native', 'ipv4', false).filter((s) => !s.processOnly);
const argsOf = (name: string): string[] => containerRunArgs(layout, specs.find((s) => s.name === name)!, [], '9.9.9');
const values = (args: string[], flag: string): string[] => args.flatMap((a, k) => (a === flag ? [args[k + 1]!] : []));

test('each container runs its image with exactly the command line the process lab passes (one description: service-spec.ts)', () => {
  for (const spec of specs) {
    const args = containerRunArgs(layout, spec, [], '9.9.9');
    const image = imageOf(spec.role as 'agent', '9.9.9');
    const k = args.indexOf(image);
    assert.ok(k > 0, `${spec.name}: runs ${image}`);
    assert.deepEqual(args.slice(k + 1), spec.argv.slice(2), `${spec.name}: the spec's flags, nothing else`);
    assert.deepEqual(values(args, '--name'), [containerName(layout, spec.name)]);
    assert.ok(values(args, '--label').includes(`${labLabel}=lab`), `${spec.name}: labelled with the lab, for "down"`);
    assert.deepEqual(values(args, '--network'), ['host'], `${spec.name}: the machine's namespace, like the process lab's daemons`);
    assert.deepEqual(values(args, '--log-opt'), [`path=${spec.logFile}`], `${spec.name}: logs where the process lab logs`);
    assert.ok(!args.includes('--privileged'), `${spec.name}: not privileged`);
    assert.equal(values(args, '--cap-drop')[0], 'ALL');
    assert.ok(values(args, '-v').includes(`${layout.tlsDir}:${layout.tlsDir}:ro`), `${spec.name}: certificates read-only`);
  }
  assert.deepEqual(containerRunArgs(layout, specs[specs.length - 1]!, ['--bogus'], '9.9.9').at(-1), '--bogus', 'extra flags come last');
});

test('only the agent gets capabilities, bpffs, /run/netns and /proc/sys; the others only their own folders', () => {
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
  for (const name of ['operator', 'hubble-server-n1', 'hubble-relay']) {
    assert.deepEqual(values(argsOf(name), '--cap-add'), [], `${name}: no capability`);
    assert.ok(!values(argsOf(name), '--security-opt').includes('unmask=/proc/sys'));
  }
});

test('etcd is not a container of the lab', () => {
  assert.throws(() => containerRunArgs(layout, etcdSpec(layout), [], '9.9.9'), /etcd runs as a process/);
});
