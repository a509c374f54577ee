// Shared pieces of the lab's end-to-end tests: when to skip, running tools/lab, and
// reading flows through the relay with the hubble CLI.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requiredApps } from './cmd-up.js';
import { run, type RunResult } from './exec.js';
import { appMain, type LabLayout, repoRoot } from './layout.js';

/** node:test skip option: root and every app built, never skipped under CI=true. */
export function e2eSkip(): string | false {
  if (process.env.CI === 'true') return false;
  if (process.getuid?.() !== 0) return 'needs root';
  const missing = [...requiredApps, 'hubble-cli'].filter((a) => !existsSync(appMain(a)));
  return missing.length > 0 ? `not built yet: ${missing.map((a) => `apps/${a}/dist/main.js`).join(', ')}` : false;
}

/** Runs `tools/lab ARGS` without its build check. */
export function labCommand(...args: string[]): Promise<RunResult> {
  return run([join(repoRoot, 'tools', 'lab'), ...args], { env: { ...process.env, LAB_NO_SETUP: '1' }, timeoutMs: 240_000 });
}

/** The parts of a flow (`hubble observe -o json`, proto field names) the tests read. */
export interface JsonFlow {
  node_name?: string;
  verdict?: string;
  trace_observation_point?: string;
  source?: { identity?: number; labels?: string[] };
  drop_reason?: number;
  drop_reason_desc?: string;
  IP?: { source?: string; destination?: string; ipVersion?: string };
  l4?: { TCP?: { destination_port?: number } };
}

/** The last 2000 flows of the lab, through its relay. */
export async function observeFlows(layout: LabLayout): Promise<JsonFlow[]> {
  const r = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '2000', '-o', 'json'], {
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
