import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from './args.js';
import { LabUsageError } from './errors.js';

test('up defaults to 2 dual-stack nodes named lab with traffic and policy', () => {
  assert.deepEqual(parseArgs(['up']), { command: 'up', name: 'lab', nodes: 2, traffic: true, policy: true, ipv6: true, routingMode: 'native', underlay: 'ipv4', relayTls: false, runtime: 'process', runtimes: false });
});

test('up --ipv4-only turns IPv6 off', () => {
  assert.equal((parseArgs(['up', '--ipv4-only']) as { ipv6: boolean }).ipv6, false);
});

test('up accepts --nodes, --name (also with =), --no-traffic and --no-policy', () => {
  assert.deepEqual(parseArgs(['up', '--nodes', '3', '--name=demo1', '--no-traffic', '--no-policy']), {
    command: 'up',
    name: 'demo1',
    nodes: 3,
    traffic: false,
    policy: false,
    ipv6: true,
    routingMode: 'native',
    underlay: 'ipv4',
    relayTls: false,
    runtime: 'process',
    runtimes: false,
  });
  assert.equal((parseArgs(['up', '--runtimes']) as { runtimes: boolean }).runtimes, true);
  assert.equal((parseArgs(['up', '--relay-tls']) as { relayTls: boolean }).relayTls, true);
});

test('up --routing-mode takes native or tunnel', () => {
  assert.equal((parseArgs(['up', '--routing-mode', 'tunnel']) as { routingMode: string }).routingMode, 'tunnel');
  assert.equal((parseArgs(['up', '--routing-mode=native']) as { routingMode: string }).routingMode, 'native');
  assert.throws(() => parseArgs(['up', '--routing-mode', 'geneve']), (e: unknown) => e instanceof LabUsageError && /not one of native, tunnel/.test(e.message));
});

test('up --underlay ipv6 needs tunnel mode and the nodes\' IPv6 addresses; other values are refused naming the flag', () => {
  assert.equal((parseArgs(['up', '--routing-mode', 'tunnel', '--underlay', 'ipv6']) as { underlay: string }).underlay, 'ipv6');
  assert.equal((parseArgs(['up', '--routing-mode', 'tunnel', '--underlay=ipv4']) as { underlay: string }).underlay, 'ipv4');
  const refused = (argv: string[], why: RegExp): void => assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof LabUsageError && /--underlay/.test(e.message) && why.test(e.message));
  refused(['up', '--routing-mode', 'tunnel', '--underlay', 'v6'], /not one of ipv4, ipv6/);
  refused(['up', '--underlay', 'ipv6'], /add --routing-mode tunnel/);
  refused(['up', '--routing-mode', 'tunnel', '--underlay', 'ipv6', '--ipv4-only'], /drop --ipv4-only/);
});

test('status, check and down take --name; status and check take --json', () => {
  assert.deepEqual(parseArgs(['status', '--json']), { command: 'status', name: 'lab', json: true });
  assert.deepEqual(parseArgs(['check', '--name', 'x']), { command: 'check', name: 'x', json: false });
  assert.deepEqual(parseArgs(['down', '--name', 'e2e123']), { command: 'down', name: 'e2e123' });
});

test('no command, help, -h and --help print usage', () => {
  for (const a of [[], ['help'], ['-h'], ['--help']]) assert.deepEqual(parseArgs(a), { command: 'help' });
});

test('rejects unknown commands and flags, missing values and bad names or counts', () => {
  const bad: [string[], string][] = [
    [['start'], 'start'],
    [['up', '--node', '2'], '--node'],
    [['down', '--json'], '--json'],
    [['up', '--nodes'], '--nodes'],
    [['up', '--nodes', '--no-policy'], '--nodes'],
    [['up', '--nodes', '0'], '--nodes'],
    [['up', '--nodes', '1.5'], '--nodes'],
    [['up', '--nodes', '10'], '--nodes'],
    [['up', '--name', 'My-Lab'], '--name'],
    [['up', '--name', 'averyveryverylongname'], '--name'],
    [['up', '--no-traffic=yes'], '--no-traffic'],
  ];
  for (const [argv, arg] of bad) {
    assert.throws(() => parseArgs(argv), (err: unknown) => err instanceof LabUsageError && err.arg === arg, argv.join(' '));
  }
});

test('bench defaults to 4 nodes x 50 pods named benchlab; bounds are checked', () => {
  assert.deepEqual(parseArgs(['bench']), { command: 'bench', name: 'benchlab', nodes: 4, pods: 50, keep: false, json: false });
  assert.deepEqual(parseArgs(['bench', '--nodes', '2', '--pods=10', '--keep', '--json']), { command: 'bench', name: 'benchlab', nodes: 2, pods: 10, keep: true, json: true });
  assert.throws(() => parseArgs(['bench', '--pods', '0']), /--pods/);
  assert.throws(() => parseArgs(['bench', '--pods', '251']), /--pods/);
});

test('up --runtime takes process (default) or podman; anything else is refused naming the flag', () => {
  assert.equal((parseArgs(['up', '--runtime', 'podman']) as { runtime: string }).runtime, 'podman');
  assert.equal((parseArgs(['up', '--runtime=process']) as { runtime: string }).runtime, 'process');
  assert.throws(() => parseArgs(['up', '--runtime', 'docker']), (e: unknown) => e instanceof LabUsageError && /--runtime: "docker" is not one of process, podman/.test(e.message));
  assert.throws(() => parseArgs(['up', '--runtime', 'podman', '--runtimes']), (e: unknown) => e instanceof LabUsageError && /--runtimes: runs with the process runtime only/.test(e.message));
});

test('flags parse strictly as before the move onto @cilium-ts/process: each mistake names the argument and why', () => {
  const cases: [string[], string, string][] = [
    [['up', 'foo', '--bogus'], 'foo', 'unknown flag for "up"'],
    [['up', '-h'], '-h', 'unknown flag for "up"'],
    [['up', '--help'], '--help', 'unknown flag for "up"'],
    [['up', '--', 'x'], '--', 'unknown flag for "up"'],
    [['up', '--no-runtimes'], '--no-runtimes', 'unknown flag for "up"'],
    [['status', '--json=true'], '--json', 'takes no value'],
    [['status', '--name', '--json'], '--name', 'needs a value'],
    [['down', '--name=x', 'extra'], 'extra', 'unknown flag for "down"'],
    [['up', '--name', ''], '--name', '"" must match /^[a-z][a-z0-9]{0,15}$/ (it becomes part of netns names)'],
  ];
  for (const [argv, arg, reason] of cases) {
    assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof LabUsageError && e.arg === arg && e.reason === reason, argv.join(' '));
  }
  assert.equal((parseArgs(['up', '--nodes', '2', '--nodes', '5']) as { nodes: number }).nodes, 5, 'the last value wins');
});
