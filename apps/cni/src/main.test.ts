// The plugin executable's validation: every bad input yields the CNI error object on
// stdout with the right code and a non-zero exit, before any agent is contacted.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runPlugin } from './testing/run-plugin.js';

const goodConf = { cniVersion: '1.0.0', name: 'cts', type: 'cilium-cni', 'agent-socket': 'unix:///nonexistent/agent.sock', 'agent-connect-timeout': 0.3 };
const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

const cases: Array<{ name: string; env: Record<string, string>; stdin: string; code: number; msg: RegExp }> = [
  { name: 'missing CNI_COMMAND', env: { ...addEnv, CNI_COMMAND: '' }, stdin: JSON.stringify(goodConf), code: 4, msg: /CNI_COMMAND is not set/ },
  { name: 'unknown CNI_COMMAND', env: { ...addEnv, CNI_COMMAND: 'FROB' }, stdin: JSON.stringify(goodConf), code: 4, msg: /FROB/ },
  { name: 'ADD without CNI_CONTAINERID', env: { ...addEnv, CNI_CONTAINERID: '' }, stdin: JSON.stringify(goodConf), code: 4, msg: /CNI_CONTAINERID/ },
  { name: 'invalid CNI_CONTAINERID', env: { ...addEnv, CNI_CONTAINERID: 'a/b' }, stdin: JSON.stringify(goodConf), code: 4, msg: /CNI_CONTAINERID/ },
  { name: 'ADD without CNI_IFNAME', env: { ...addEnv, CNI_IFNAME: '' }, stdin: JSON.stringify(goodConf), code: 4, msg: /CNI_IFNAME/ },
  { name: 'CNI_IFNAME too long', env: { ...addEnv, CNI_IFNAME: 'abcdefghijklmnop' }, stdin: JSON.stringify(goodConf), code: 4, msg: /15 bytes/ },
  { name: 'ADD without CNI_NETNS', env: { ...addEnv, CNI_NETNS: '' }, stdin: JSON.stringify(goodConf), code: 4, msg: /CNI_NETNS/ },
  { name: 'CNI_ARGS unknown key', env: { ...addEnv, CNI_ARGS: 'FOO=bar' }, stdin: JSON.stringify(goodConf), code: 4, msg: /unknown key.*FOO/ },
  { name: 'CNI_ARGS malformed', env: { ...addEnv, CNI_ARGS: 'K8S_POD_NAME' }, stdin: JSON.stringify(goodConf), code: 4, msg: /KEY=VALUE/ },
  { name: 'bad JSON', env: addEnv, stdin: '{"cniVersion": ', code: 6, msg: /invalid JSON/ },
  { name: 'empty stdin', env: addEnv, stdin: '', code: 6, msg: /stdin is empty/ },
  { name: 'JSON that is not an object', env: addEnv, stdin: '[1,2]', code: 6, msg: /JSON object/ },
  { name: 'missing cniVersion', env: addEnv, stdin: JSON.stringify({ ...goodConf, cniVersion: undefined }), code: 7, msg: /cniVersion: is required/ },
  { name: 'unsupported cniVersion', env: addEnv, stdin: JSON.stringify({ ...goodConf, cniVersion: '9.9.9' }), code: 1, msg: /9\.9\.9/ },
  { name: 'missing name', env: addEnv, stdin: JSON.stringify({ ...goodConf, name: undefined }), code: 7, msg: /name: is required/ },
  { name: 'invalid name', env: addEnv, stdin: JSON.stringify({ ...goodConf, name: '-x y' }), code: 7, msg: /name:/ },
  { name: 'wrong type', env: addEnv, stdin: JSON.stringify({ ...goodConf, type: 'bridge' }), code: 7, msg: /type: is "bridge"/ },
  { name: 'bad agent-socket', env: addEnv, stdin: JSON.stringify({ ...goodConf, 'agent-socket': 'http://x' }), code: 7, msg: /agent-socket/ },
  {
    name: 'label value not a string',
    env: addEnv,
    stdin: JSON.stringify({ ...goodConf, runtimeConfig: { labels: { app: 3 } } }),
    code: 7,
    msg: /runtimeConfig\.labels\.app: must be a string/,
  },
  {
    name: 'args.cni.labels entry malformed',
    env: addEnv,
    stdin: JSON.stringify({ ...goodConf, args: { cni: { labels: [{ key: 'app' }] } } }),
    code: 7,
    msg: /args\.cni\.labels\[0\]/,
  },
  { name: 'netns that does not exist', env: { ...addEnv, CNI_NETNS: '/var/run/netns/cts-none-xyz' }, stdin: JSON.stringify(goodConf), code: 8, msg: /cannot be opened/ },
  {
    name: 'agent unreachable on ADD',
    env: { ...addEnv, CNI_ARGS: 'IgnoreUnknown=1;FOO=bar;K8S_POD_NAMESPACE=default' },
    stdin: JSON.stringify(goodConf),
    code: 11,
    msg: /unreachable/,
  },
  { name: 'STATUS with the agent down', env: { CNI_COMMAND: 'STATUS' }, stdin: JSON.stringify(goodConf), code: 50, msg: /not available/ },
];

describe('cilium-cni input validation', () => {
  for (const c of cases) {
    it(`${c.name} -> code ${c.code}`, async () => {
      const r = await runPlugin(c.env, c.stdin);
      assert.notEqual(r.exitCode, 0, r.stdout);
      assert.ok(r.json, `no JSON on stdout; stderr: ${r.stderr}`);
      assert.equal(r.json.code, c.code, r.stdout);
      assert.match(String(r.json.msg), c.msg);
      assert.equal(typeof r.json.cniVersion, 'string');
    });
  }

  it('echoes the config cniVersion in errors', async () => {
    const r = await runPlugin({ ...addEnv, CNI_IFNAME: '' }, JSON.stringify({ ...goodConf, cniVersion: '0.4.0' }));
    assert.equal(r.json?.cniVersion, '0.4.0');
  });

  it('answers an unsupported cniVersion in a version it speaks, not in the unsupported one', async () => {
    for (const v of ['9.9.9', '0.1.0', '<script>']) {
      const r = await runPlugin(addEnv, JSON.stringify({ ...goodConf, cniVersion: v }));
      assert.equal(r.json?.code, 1, r.stdout);
      assert.equal(r.json?.cniVersion, '1.1.0', r.stdout);
    }
  });

  it('VERSION reports every supported version', async () => {
    const r = await runPlugin({ CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.1.0' }));
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('DEL with the agent down records the deletion in the agent\'s queue beside its socket and succeeds', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cts-cni-queue-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'delete-queue'));
    const id = `cts-queued-${process.pid}`;
    const r = await runPlugin({ ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '', CNI_CONTAINERID: id }, JSON.stringify({ ...goodConf, 'agent-socket': `unix://${dir}/agent.sock` }));
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(readdirSync(join(dir, 'delete-queue')), [`${id}.delete`]);
    assert.equal(JSON.parse(readFileSync(join(dir, 'delete-queue', `${id}.delete`), 'utf8')).containerId, id);
  });

  it('DEL with the agent down and nothing to delete succeeds silently', async () => {
    const r = await runPlugin({ ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '', CNI_CONTAINERID: `cts-nothing-${process.pid}` }, JSON.stringify(goodConf));
    assert.equal(r.exitCode, 0, r.stdout);
    assert.equal(r.stdout, '');
  });
});
