// Shared pieces of the lab's end-to-end tests: when to skip, running tools/lab, reading
// flows through the relay with the hubble CLI, killing and restarting a node's agent or L7 proxy, and
// reading which programs the kernel runs in a node.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requiredApps } from './cmd-up.js';
import { run, runChecked, type RunResult } from './exec.js';
import { appMain, type LabLayout, repoRoot } from './layout.js';
import { inNetns } from './netns.js';
import { isAlive, spawnDetached } from './process.js';
import { waitReady } from './readiness.js';
import { withPodCgroup } from './pod-cgroup.js';
import { agentSpec, proxySpec, type ServiceSpec } from './service-spec.js';
import { readState, upsertService, writeState } from './state-file.js';

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
  /** RFC 3339 time of the flow. */
  time?: string;
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
  // A guard, not a speed check: on a loaded machine (load 30 on 2 cores) 6000 flows from
  // three nodes took 31 s of wall time for 0.35 s of the relay's CPU.
  const r = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '2000', '-o', 'json'], {
    timeoutMs: 90_000,
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

/** The nodes the lab's relay knows (`hubble list nodes -o json`): name and state (NODE_CONNECTED, ...), by name. */
export async function listRelayNodes(layout: LabLayout): Promise<Array<{ name: string; state: string }>> {
  const r = await run([process.execPath, appMain('hubble-cli'), 'list', 'nodes', '--server', layout.relayAddress, '-o', 'json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `hubble list nodes failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<{ name: string; state: string }>).map((n) => ({ name: n.name, state: n.state })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Stops the `role` daemon of node i of a running lab (pid from its state file) with
 * SIGKILL, or with SIGTERM (a graceful stop); resolves once it is gone.
 */
export async function killService(layout: LabLayout, role: 'agent' | 'proxy', i: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<number> {
  const state = readState(layout.stateFile);
  const svc = state?.services.find((s) => s.role === role && s.node === i);
  assert.ok(svc?.pid && isAlive(svc.pid, svc.cmdlineMatch), `${role} of n${i} is not running (state: ${JSON.stringify(svc)})`);
  process.kill(svc.pid, signal);
  for (let k = 0; k < 300 && isAlive(svc.pid); k++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(isAlive(svc.pid), false, `${role} of n${i} (pid ${svc.pid}) survived ${signal}`);
  return svc.pid;
}

/** Stops the agent of node i (see killService). */
export function killAgent(layout: LabLayout, i: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<number> {
  return killService(layout, 'agent', i, signal);
}

/** Starts a daemon of a running lab again as "up" did, records it in the state file (so "down" stops it) and waits until it answers; returns its pid. */
async function restartService(layout: LabLayout, spec: ServiceSpec): Promise<number> {
  const pid = spawnDetached(spec.argv, spec.logFile, layout.name);
  const state = readState(layout.stateFile)!;
  upsertService(state, { name: spec.name, role: spec.role, node: spec.node, pid, address: spec.address, logFile: spec.logFile, cmdlineMatch: spec.cmdlineMatch ?? spec.argv[1] ?? spec.argv[0]! });
  writeState(layout.stateFile, state);
  await waitReady(spec, pid);
  return pid;
}

/**
 * Starts the agent of node i again with the command line "up" used, records it in the
 * state file (so "down" stops it) and waits until it answers; returns its pid.
 */
export function restartAgent(layout: LabLayout, i: number, opts: { ipv6: boolean; routingMode: 'native' | 'tunnel'; underlay?: 'ipv4' | 'ipv6' }): Promise<number> {
  const spec = agentSpec(layout, i, opts.ipv6, opts.routingMode, opts.underlay);
  return restartService(layout, readState(layout.stateFile)?.demo.service ? withPodCgroup(spec, layout) : spec);
}

/** Starts the L7 proxy of node i again (see restartAgent). */
export function restartProxy(layout: LabLayout, i: number, opts: { ipv6: boolean }): Promise<number> {
  return restartService(layout, proxySpec(layout, i, opts.ipv6));
}

/** Kernel ids of the tc programs attached in a namespace, by "<device>/<ingress|egress>" (bpftool net show: kind clsact/ingress, tcx/egress, ...). */
export async function tcProgramIds(netns: string): Promise<Map<string, number>> {
  const out = await runChecked(inNetns(netns, ['bpftool', '-j', 'net', 'show']));
  const rows = (JSON.parse(out) as Array<{ tc?: Array<{ devname: string; kind: string; prog_id?: number; id?: number }> }>).flatMap((e) => e.tc ?? []);
  return new Map(rows.map((t) => [`${t.devname}/${t.kind.replace(/^.*\//, '')}`, t.prog_id ?? t.id ?? 0]));
}
