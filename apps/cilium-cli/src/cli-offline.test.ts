// Command parsing, help, and the offline policy commands (validate, trace --policy-file).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { COMMANDS, hoistGlobalFlags } from './cli.js';
import { cli } from './testing/capture.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const NS = 'k8s:io.kubernetes.pod.namespace=default';

describe('cilium command parsing', () => {
  it('prints the command list with no arguments and with --help', async () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const r = await cli(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Usage: cilium COMMAND/);
      for (const c of COMMANDS) assert.ok(r.stdout.includes(c.path.join(' ')), c.path.join(' '));
    }
  });

  it('prints a group listing for "policy" and "policy --help"', async () => {
    for (const argv of [['policy'], ['policy', '--help']]) {
      const r = await cli(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /policy import FILE/);
      assert.doesNotMatch(r.stdout, /endpoint list/);
    }
  });

  it('has --help on every command', async () => {
    for (const c of COMMANDS) {
      const r = await cli([...c.path, '--help']);
      assert.equal(r.code, 0, c.path.join(' '));
      assert.match(r.stdout, new RegExp(`^Usage: cilium ${c.path.join(' ')} `));
      assert.match(r.stdout, /-h, --help/);
    }
  });

  it('accepts --host / -H before the command', () => {
    assert.deepEqual(hoistGlobalFlags(['--host', 'unix:///a.sock', 'endpoint', 'list']), ['endpoint', 'list', '--host', 'unix:///a.sock']);
    assert.deepEqual(hoistGlobalFlags(['-H', 'x:1', '--host=y:2', 'status', '-o', 'json']), ['status', '-o', 'json', '--host', 'x:1', '--host=y:2']);
    assert.deepEqual(hoistGlobalFlags(['status', '--host', 'z']), ['status', '--host', 'z']);
  });

  it('rejects unknown commands, subcommands and flags with exit 2', async () => {
    assert.equal((await cli(['frobnicate'])).code, 2);
    const sub = await cli(['endpoint', 'frob']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown command "frob"/);
    const flag = await cli(['status', '--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag --bogus/);
  });

  it('rejects an unknown output format and bad ids with exit 2', async () => {
    const out = await cli(['endpoint', 'list', '-o', 'yaml']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /unknown output format "yaml"/);
    const id = await cli(['identity', 'get', 'web']);
    assert.equal(id.code, 2);
    assert.match(id.stderr, /identity ID "web" is not a number/);
    assert.equal((await cli(['policy', 'delete'])).code, 2);
    assert.equal((await cli(['policy', 'delete', 'k8s:a=b', '--all'])).code, 2);
  });

  it('reports an unreachable agent with a hint and exit 1', async () => {
    const r = await cli(['status'], { CILIUM_HOST: 'unix:///nonexistent/cts-agent.sock' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the agent at unix:\/\/\/nonexistent\/cts-agent\.sock/);
    assert.match(r.stderr, /CILIUM_HOST/);
  });
});

describe('cilium policy validate (offline)', () => {
  it('accepts a valid document', async () => {
    const r = await cli(['policy', 'validate', 'allow-web.yaml'], {}, fixtures);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'allow-web.yaml: valid, 1 rule\n');
  });

  it('prints every problem with its path and exits 1', async () => {
    const r = await cli(['policy', 'validate', 'invalid.yaml'], {}, fixtures);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^invalid\.yaml: spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: /);
    assert.match(lines[1]!, /^invalid\.yaml: spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.protocol: .*TCPX/);
    const json = await cli(['policy', 'validate', 'invalid.yaml', '-o', 'json'], {}, fixtures);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { valid: boolean; errors: Array<{ path: string }> };
    assert.equal(parsed.valid, false);
    assert.deepEqual(parsed.errors.map((e) => e.path), ['spec.ingress[0].toPorts[0].ports[0].port', 'spec.ingress[0].toPorts[0].ports[0].protocol']);
  });

  it('names a missing file', async () => {
    const r = await cli(['policy', 'validate', 'nope.yaml'], {}, fixtures);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read policy file nope\.yaml/);
  });
});

describe('cilium policy trace --policy-file (offline)', () => {
  const base = ['policy', 'trace', '-s', `k8s:app=frontend,${NS}`, '-d', 'k8s:app=web', '-d', NS, '--policy-file', 'allow-web.yaml', '-o', 'json'];

  it('allows frontend -> web on 80/TCP', async () => {
    const r = await cli([...base, '--dport', '80/TCP'], {}, fixtures);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { verdict: string; ingress: { allowedBy: string[] } };
    assert.equal(out.verdict, 'ALLOWED');
    assert.equal(out.ingress.allowedBy.length, 1);
  });

  it('denies another port and another source', async () => {
    assert.equal(JSON.parse((await cli([...base, '--dport', '8080/TCP'], {}, fixtures)).stdout).verdict, 'DENIED');
    const other = ['policy', 'trace', '-s', `k8s:app=db,${NS}`, '-d', `k8s:app=web,${NS}`, '--dport', '80', '--policy-file', 'allow-web.yaml', '-o', 'json'];
    assert.equal(JSON.parse((await cli(other, {}, fixtures)).stdout).verdict, 'DENIED');
  });

  it('explains the verdict in text form', async () => {
    const r = await cli(base.slice(0, -2).concat(['--dport', '80/TCP']), {}, fixtures);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /allow-frontend-to-web/);
    assert.match(r.stdout, /Final verdict: ALLOWED\n$/);
  });

  it('rejects a malformed --dport and missing labels with exit 2', async () => {
    assert.equal((await cli([...base, '--dport', 'http'], {}, fixtures)).code, 2);
    assert.equal((await cli(['policy', 'trace', '-s', 'k8s:a=b', '--policy-file', 'allow-web.yaml'], {}, fixtures)).code, 2);
  });

  it('reports an invalid policy file with its paths', async () => {
    const r = await cli(['policy', 'trace', '-s', 'k8s:a=b', '-d', 'k8s:c=d', '--policy-file', 'invalid.yaml'], {}, fixtures);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid\.yaml: spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port/);
  });
});

describe('cilium completion bash', () => {
  it('completes commands, subcommands and flags from the command table', async () => {
    const r = await cli(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    const script = r.stdout;
    assert.match(script, /complete -F _cilium_ts cilium/);
    assert.match(script, /"policy"\) words="delete get import selectors trace validate wait"/);
    assert.match(script, /"bpf metrics"\) words="list"/);
    assert.match(script, /"policy trace"\) words="[^"]*--dport[^"]*"/);
    for (const c of COMMANDS) assert.ok(script.includes(`"${c.path.slice(0, -1).join(' ')}")`), `prefix of ${c.path.join(' ')}`);
    const bad = await cli(['completion', 'fish']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unsupported shell "fish"/);
  });
});
