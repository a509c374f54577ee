// End to end against the real binaries: a one-node lab, flows through the relay with the
// hubble CLI, our programs in the kernel, cilium status, and a clean "down".
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ciliumArgv } from './cilium-cli.js';
import { requiredApps } from './cmd-up.js';
import type { LabStatus } from './cmd-status.js';
import { run, type RunResult } from './exec.js';
import { appMain, bpfRoot, LabLayout, repoRoot } from './layout.js';
import { listNetns } from './netns.js';

const name = `e2e${process.pid}`;
const layout = new LabLayout(name);
const labTool = join(repoRoot, 'tools', 'lab');
const apps = [...requiredApps, 'hubble-cli'];
const missing = apps.filter((a) => !existsSync(appMain(a)));
const skip =
  process.env.CI === 'true'
    ? false
    : process.getuid?.() !== 0
      ? 'needs root'
      : missing.length > 0
        ? `not built yet: ${missing.map((a) => `apps/${a}/dist/main.js`).join(', ')}`
        : false;

const lab = (...args: string[]): Promise<RunResult> =>
  run([labTool, ...args], { env: { ...process.env, LAB_NO_SETUP: '1' }, timeoutMs: 240_000 });

/** A flow as printed by `hubble observe -o json` (proto field names). */
interface JsonFlow {
  verdict?: string;
  drop_reason?: number;
  drop_reason_desc?: string;
  IP?: { source?: string; destination?: string };
  l4?: { TCP?: { destination_port?: number } };
}

async function observe(): Promise<JsonFlow[]> {
  const r = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '200', '-o', 'json'], {
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, `hubble observe failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => {
      const o = JSON.parse(l) as { flow?: JsonFlow } & JsonFlow;
      return o.flow ?? o;
    });
}

const matches = (f: JsonFlow, src: string, dst: string, port: number): boolean =>
  f.IP?.source === src && f.IP?.destination === dst && f.l4?.TCP?.destination_port === port;

describe('lab e2e (one node)', { skip }, () => {
  let status: LabStatus;
  const ipOf = (pod: string): string => status.pods.find((p) => p.name === pod && p.node === 1)!.ip!;

  before(async () => {
    const up = await lab('up', '--nodes', '1', '--name', name);
    assert.equal(up.code, 0, `tools/lab up failed:\n${up.stderr}\n${up.stdout}`);
    const st = await lab('status', '--name', name, '--json');
    assert.equal(st.code, 0, st.stderr);
    status = JSON.parse(st.stdout) as LabStatus;
  });
  after(async () => {
    await lab('down', '--name', name);
  });

  test('every service is alive and reachable; pods have addresses', () => {
    for (const s of status.services) assert.ok(s.alive && s.reachable, `${s.name} alive=${s.alive} reachable=${s.reachable}`);
    assert.deepEqual(status.pods.map((p) => p.name).sort(), ['client', 'other', 'web']);
    for (const p of status.pods) assert.match(p.ip ?? '', /^10\.200\.\d+\.\d+$/);
  });

  test('the relay shows client->web:80 FORWARDED and client->web:8080 DROPPED (policy denied)', async () => {
    const [client, web] = [ipOf('client'), ipOf('web')];
    let flows: JsonFlow[] = [];
    const found = (): { fwd: boolean; drop: boolean } => ({
      fwd: flows.some((f) => matches(f, client, web, 80) && f.verdict === 'FORWARDED'),
      drop: flows.some((f) => matches(f, client, web, 8080) && f.verdict === 'DROPPED' && f.drop_reason === 133),
    });
    for (let k = 0; k < 30; k++) {
      flows = await observe();
      const f = found();
      if (f.fwd && f.drop) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const sample = flows.filter((f) => f.IP?.source === client).slice(-5);
    assert.deepEqual(found(), { fwd: true, drop: true }, `last flows from client: ${JSON.stringify(sample)}`);
  });

  test('lab check agrees with the policy', async () => {
    const r = await lab('check', '--name', name);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });

  test('bpftool lists the endpoint programs', async () => {
    const r = await run(['bpftool', 'prog', 'show', '-j']);
    assert.equal(r.code, 0, r.stderr);
    const names = new Set((JSON.parse(r.stdout) as { name?: string }[]).map((p) => p.name));
    assert.ok(names.has('from_container') && names.has('to_container'), 'from_container and to_container are loaded');
  });

  test('cilium status answers with state ok', async () => {
    const r = await run(ciliumArgv(layout.agentSocket(1), 'status', '-o', 'json'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { state?: string }).state?.toLowerCase(), 'ok');
  });

  test('down leaves no namespace, pin or run dir behind', async () => {
    const r = await lab('down', '--name', name);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listNetns(`cts-${name}`), []);
    const pins = existsSync(bpfRoot) ? readdirSync(bpfRoot).filter((d) => d.startsWith(`${name}-`)) : [];
    assert.deepEqual(pins, []);
    assert.equal(existsSync(layout.runDir), false);
  });
});
