// The service rows of "lab check": from the client and other pods of every node to the
// demo service's VIP (demo-service.ts), probed from inside the pod's cgroup so that the
// node's socket load balancer translates the connection. client -> VIP:80 must reach a web
// backend, and over repeated connections every node's web pod (the same node's and the
// other nodes'); other -> VIP:80 is denied by the demo policy, which applies to the backend
// after translation.
import type { CheckResult, PlannedCheck } from './check-types.js';
import { demoServices } from './demo-service.js';
import { run } from './exec.js';
import { demoProgram } from './layout.js';
import { inNetns } from './netns.js';
import { inCgroup } from './pod-cgroup.js';
import type { LabState } from './state-file.js';

/** The `to` of a service row: the demo service's VIP. */
export const SERVICE_TARGET = 'web-vip';

/** Most connections a probe makes to see every backend (chance to miss one of 3 at random: 3 * (2/3)^64 < 1e-10). */
export const VIP_PROBE_TRIES = 64;

/** Service rows: client and other of every node, per family; dstNode is the source node (the VIP is on every node). */
export function planServiceChecks(nodes: readonly number[], policy: boolean, families: ReadonlyArray<4 | 6> = [4]): PlannedCheck[] {
  const out: PlannedCheck[] = [];
  for (const family of families) {
    for (const srcNode of nodes) {
      out.push({ from: 'client', to: SERVICE_TARGET, port: 80, expect: 'allowed', srcNode, dstNode: srcNode, family });
      out.push({ from: 'other', to: SERVICE_TARGET, port: 80, expect: policy ? 'denied' : 'allowed', srcNode, dstNode: srcNode, family });
    }
  }
  return out;
}

/**
 * Probes a service row: an allowed row passes only when every web backend answered through
 * the VIP (same node and cross node); a denied row when the first connection got no answer.
 */
export async function probeService(state: LabState, c: PlannedCheck): Promise<CheckResult> {
  const svc = demoServices(state).find((s) => s.family === c.family);
  const pod = state.pods.find((p) => p.node === c.srcNode && p.name === c.from);
  if (!svc || !pod?.cgroup) {
    const what = !svc ? `no IPv${c.family} demo service` : `pod n${c.srcNode}/${c.from} ${pod ? 'has no cgroup' : 'missing'}`;
    return { ...c, target: '-', got: 'denied', reply: false, detail: what, ok: false };
  }
  const args = c.expect === 'allowed' ? ['--expect', svc.backendNames.join(','), '--tries', String(VIP_PROBE_TRIES)] : ['--tries', '1'];
  const argv = inCgroup(pod.cgroup, inNetns(pod.netns, [process.execPath, demoProgram('vip-probe'), svc.vip, String(svc.port), '--timeout', '2000', ...args]));
  const r = await run(argv, { timeoutMs: 60_000 });
  const detail = (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
  const got = r.code === 0 || r.code === 3 ? 'allowed' : 'denied';
  const target = c.family === 6 ? `[${svc.vip}]:${svc.port}` : `${svc.vip}:${svc.port}`;
  // allowed: every backend seen (exit 0); denied: no answer at all (exit 1).
  const ok = c.expect === 'allowed' ? r.code === 0 : r.code === 1;
  return { ...c, target, got, reply: got === 'allowed', detail, ok };
}
