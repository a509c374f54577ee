import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defineFlags, FlagError, HelpRequested } from './flags.js';

const flags = defineFlags({
  clusterName: { type: 'string', default: 'default', env: 'CILIUM_CLUSTER_NAME', description: 'cluster name' },
  port: { type: 'number', default: 4244, description: 'listen port' },
  debug: { type: 'boolean', env: 'CILIUM_DEBUG', description: 'debug logs' },
  kvstoreEndpoints: { type: 'string[]', default: ['http://127.0.0.1:2379'], description: 'etcd endpoints' },
  name: { type: 'string', description: 'node name' },
}, { program: 'test-program' });

test('defaults, typed values and positionals', () => {
  const { values, positionals } = flags.parse([], {});
  assert.deepEqual(values, { clusterName: 'default', port: 4244, debug: false, kvstoreEndpoints: ['http://127.0.0.1:2379'], name: '' });
  assert.deepEqual(positionals, []);
  const p = flags.parse(['--cluster-name', 'c1', '--port=4250', '--debug', 'a', '--kvstore-endpoints', 'x,y', '--kvstore-endpoints=z', '--', '--port'], {});
  assert.deepEqual(p.values, { clusterName: 'c1', port: 4250, debug: true, kvstoreEndpoints: ['x', 'y', 'z'], name: '' });
  assert.deepEqual(p.positionals, ['a', '--port']);
  // The values are typed: these lines must compile.
  const n: number = p.values.port;
  const l: string[] = p.values.kvstoreEndpoints;
  assert.ok(n > 0 && l.length === 3);
});

test('booleans: --x, --x=false, --no-x; environment fallbacks; command line wins', () => {
  assert.equal(flags.parse(['--debug=false'], {}).values.debug, false);
  assert.equal(flags.parse(['--no-debug'], { CILIUM_DEBUG: 'true' }).values.debug, false);
  assert.equal(flags.parse([], { CILIUM_DEBUG: 'true' }).values.debug, true);
  assert.equal(flags.parse([], { CILIUM_CLUSTER_NAME: 'env' }).values.clusterName, 'env');
  assert.equal(flags.parse(['--cluster-name=cli'], { CILIUM_CLUSTER_NAME: 'env' }).values.clusterName, 'cli');
});

test('unknown flags and bad values are FlagErrors naming the flag', () => {
  const err = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      flags.parse(argv, env);
    } catch (e) {
      assert.ok(e instanceof FlagError);
      return e;
    }
    return assert.fail('expected a FlagError');
  };
  assert.equal(err(['--nope']).flag, '--nope');
  assert.match(err(['--nope']).message, /unknown flag --nope/);
  assert.equal(err(['-x']).flag, '-x');
  assert.match(err(['--port', 'abc']).message, /invalid value "abc" for flag --port: expected a number/);
  assert.match(err(['--port']).message, /flag --port needs a value/);
  assert.match(err(['--debug=maybe']).message, /expected true or false/);
  const envErr = err([], { CILIUM_DEBUG: 'maybe' });
  assert.equal(envErr.flag, 'CILIUM_DEBUG');
  assert.match(envErr.message, /environment variable CILIUM_DEBUG \(flag --debug\)/);
  assert.throws(() => flags.parse(['--help'], {}), HelpRequested);
});

test('strict: no negation, no value on a boolean, no flag as a value, no positionals, --help not special; each FlagError says its kind', () => {
  const strict = defineFlags({ name: { type: 'string', default: 'lab', description: 'name' }, json: { type: 'boolean', description: 'json' } }, { strict: true });
  const kind = (argv: string[]) => {
    try {
      strict.parse(argv, {});
    } catch (e) {
      assert.ok(e instanceof FlagError);
      return `${e.flag} ${e.kind}`;
    }
    return 'parsed';
  };
  assert.deepEqual(strict.parse(['--name', 'x', '--json'], {}).values, { name: 'x', json: true });
  assert.equal(kind(['--no-json']), '--no-json unknown');
  assert.equal(kind(['--json=true']), '--json unexpected-value');
  assert.equal(kind(['--name', '--json']), '--name missing-value');
  assert.equal(kind(['--name']), '--name missing-value');
  assert.equal(kind(['extra']), 'extra unknown');
  assert.equal(kind(['--', 'x']), '-- unknown');
  assert.equal(kind(['--help']), '--help unknown');
  assert.equal(kind(['-h']), '-h unknown');
  // Not strict, the same lines parse as before.
  const loose = defineFlags({ name: { type: 'string', description: 'name' }, json: { type: 'boolean', description: 'json' } });
  assert.deepEqual(loose.parse(['--no-json', '--name', '--json', 'extra'], {}), { values: { name: '--json', json: false }, positionals: ['extra'] });
  assert.throws(() => loose.parse(['--json=maybe'], {}), (e: unknown) => e instanceof FlagError && e.kind === 'bad-value');
});

test('usage lists every flag with description, default and env var', () => {
  const u = flags.usage();
  assert.match(u, /^Usage: test-program \[flags\]/);
  assert.match(u, /--cluster-name string\s+cluster name \(default "default"; env CILIUM_CLUSTER_NAME\)/);
  assert.match(u, /--port number\s+listen port \(default 4244\)/);
  assert.match(u, /--debug\s+debug logs \(env CILIUM_DEBUG\)/);
  assert.match(u, /--kvstore-endpoints strings\s+etcd endpoints \(default http:\/\/127.0.0.1:2379\)/);
  assert.match(u, /-h, --help/);
});

const cli = fileURLToPath(new URL('./testing/flags-cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

test('parseOrExit: --help prints usage and exits 0; bad input exits 2 with the flag named', () => {
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: fixture-cli \[flags\]\n\nA test command\./);
  assert.match(help.stdout, /--api-address string\s+agent API address \(default "unix:\/\/\/var\/run\/cilium\/cilium.sock"; env CILIUM_API_ADDRESS\)/);

  const bad = run('--metrics-port', 'many');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^fixture-cli: invalid value "many" for flag --metrics-port/);
  const unknown = run('--frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown flag --frobnicate/);

  const ok = run('--debug', 'x');
  assert.equal(ok.status, 0);
  assert.deepEqual(JSON.parse(ok.stdout), {
    values: { apiAddress: 'unix:///var/run/cilium/cilium.sock', metricsPort: 9962, debug: true },
    positionals: ['x'],
  });
});
