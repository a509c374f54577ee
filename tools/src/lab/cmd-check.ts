// `lab check`: a connectivity test across every pair of nodes, in the manner of
// `cilium connectivity test`: from the client and other pods of every node to the web pod
// of every node (the same node and across nodes), and from every node's own namespace to
// the pods of the other nodes (as health checks go), compared with what the demo policy
// allows. A probe is an HTTP GET or an ICMP echo, so an allowed probe also proves the
// reply path. In a dual-stack lab every case is probed over IPv4 and over IPv6.
import type { CheckOptions } from './args.js';
import { planServiceChecks, probeService, SERVICE_TARGET } from './check-service.js';
import { EXTERNAL_SOURCE, NODEPORT_TARGET, planNodePortChecks, probeNodePort } from './demo-nodeport.js';
import type { CheckCase, CheckResult, PlannedCheck } from './check-types.js';
import { formatTable } from './cmd-status.js';
import { run } from './exec.js';
import { demoProgram, LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import { inCgroup } from './pod-cgroup.js';
import { waitPolicyEverywhere, type PolicyWaitResult } from './policy-sync.js';
import { readState, type LabState } from './state-file.js';

export type { CheckCase, CheckResult, PlannedCheck } from './check-types.js';

/**
 * What is expected of the runtime containers of `up --runtimes` (runtime-workloads.ts) under
 * the demo policy and runtime-policy.yaml: the same as of lab pods with the same labels (the
 * podman one is app=client, the docker one app=other), as sources and as targets.
 */
export const runtimeCases: readonly CheckCase[] = [
  { from: 'podman', to: 'web', port: 80, expect: 'allowed' },
  { from: 'podman', to: 'web', port: 80, path: '/private', expect: 'denied' },
  { from: 'podman', to: 'web', port: 8080, expect: 'denied' },
  { from: 'docker', to: 'web', port: 80, expect: 'denied' },
  // No policy selects app=client: the docker container reaches the client pod and the podman container.
  { from: 'docker', to: 'client', port: 0, proto: 'icmp', expect: 'allowed' },
  { from: 'docker', to: 'podman', port: 0, proto: 'icmp', expect: 'allowed' },
  // app=other (the docker container as the other pods) admits app=client only.
  { from: 'podman', to: 'docker', port: 0, proto: 'icmp', expect: 'allowed' },
  { from: 'client', to: 'docker', port: 0, proto: 'icmp', expect: 'allowed' },
  { from: 'podman', to: 'other', port: 0, proto: 'icmp', expect: 'allowed' },
  { from: 'web', to: 'docker', port: 0, proto: 'icmp', expect: 'denied' },
  { from: 'web', to: 'other', port: 0, proto: 'icmp', expect: 'denied' },
];

/** The source name of the cases probed from a node's own namespace. */
export const NODE_SOURCE = 'node';

/** The demo's expectations between pods (with the demo policy imported). */
export const demoCases: readonly CheckCase[] = [
  { from: 'client', to: 'web', port: 80, expect: 'allowed' },
  // The L7 rule on web:80 (GET / and /public only), enforced by the node's cilium-proxy.
  { from: 'client', to: 'web', port: 80, path: '/public', expect: 'allowed' },
  { from: 'client', to: 'web', port: 80, path: '/private', expect: 'denied' },
  { from: 'client', to: 'web', port: 8080, expect: 'denied' },
  { from: 'other', to: 'web', port: 80, expect: 'denied' },
];

/**
 * From a node to the pods of other nodes: an echo to a pod no policy selects passes; the
 * demo policy admits only client pods to web, so web:80 is denied to another node (it
 * arrives as remote-node in tunnel mode, as world in native routing).
 */
export const nodeCases: readonly CheckCase[] = [
  { from: NODE_SOURCE, to: 'client', port: 0, proto: 'icmp', expect: 'allowed' },
  { from: NODE_SOURCE, to: 'web', port: 80, expect: 'denied' },
];

/** The expectations of a lab: the demo's, or everything allowed when no policy was imported. */
export function expectedCases(policy: boolean, cases: readonly CheckCase[] = demoCases): CheckCase[] {
  return cases.map((c) => (policy ? { ...c } : { ...c, expect: 'allowed' }));
}

/**
 * Every case for every ordered pair of nodes and every family: IPv4 first; per family the
 * same-node pod pairs, then the cross-node ones, then node-to-remote-pod.
 */
export function planChecks(nodes: readonly number[], policy: boolean, families: ReadonlyArray<4 | 6> = [4], podCases: readonly CheckCase[] = demoCases): PlannedCheck[] {
  const out: PlannedCheck[] = [];
  for (const family of families) {
    for (const scope of ['same-node', 'cross-node', 'node-to-remote-pod'] as const) {
      for (const srcNode of nodes) {
        for (const dstNode of nodes) {
          if ((srcNode === dstNode) !== (scope === 'same-node')) continue;
          const cases = scope === 'node-to-remote-pod' ? expectedCases(policy, nodeCases) : expectedCases(policy, podCases);
          for (const c of cases) out.push({ ...c, srcNode, dstNode, family });
        }
      }
    }
  }
  return out;
}

/** Scope of a check: pods on the same node, pods across nodes, or a node to another node's pod. */
export function scopeOf(c: PlannedCheck): 'same-node' | 'cross-node' | 'node-to-remote-pod' | 'service' | 'nodeport' {
  if (c.to === SERVICE_TARGET) return 'service';
  if (c.to === NODEPORT_TARGET) return 'nodeport';
  if (c.from === NODE_SOURCE) return 'node-to-remote-pod';
  return c.srcNode === c.dstNode ? 'same-node' : 'cross-node';
}

/** One row of the summary: a category with how many of its checks passed. */
export interface SummaryRow {
  category: string;
  passed: number;
  total: number;
}

/** Sums results up per category: allowed / denied per scope (and family, IPv6 rows marked), and replies of allowed flows. */
export function summarize(results: readonly CheckResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const family of [4, 6] as const) {
    for (const scope of ['same-node', 'cross-node', 'node-to-remote-pod', 'service', 'nodeport'] as const) {
      for (const expect of ['allowed', 'denied'] as const) {
        for (const l7 of [false, true]) {
          const sel = results.filter((r) => r.family === family && scopeOf(r) === scope && r.expect === expect && !!r.path === l7);
          const verdict = l7 ? (expect === 'allowed' ? 'L7 allowed (HTTP 2xx)' : 'L7 denied (HTTP 403 Access denied)') : expect === 'allowed' ? 'allowed' : 'denied by policy';
          const category = `${scope} ${verdict}${family === 6 ? ' (IPv6)' : ''}`;
          if (sel.length > 0) rows.push({ category, passed: sel.filter((r) => r.ok).length, total: sel.length });
        }
      }
    }
  }
  const allowed = results.filter((r) => r.expect === 'allowed');
  if (allowed.length > 0) rows.push({ category: 'reply traffic (allowed flows)', passed: allowed.filter((r) => r.reply).length, total: allowed.length });
  return rows;
}

/** Runs at most `limit` jobs at a time, keeping result order. */
async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const out = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      out[k] = await jobs[k]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

/** The namespace a case is probed from: the source pod's, or the source node's. */
function sourceNetns(state: LabState, c: PlannedCheck): string | undefined {
  if (c.from === NODE_SOURCE) return state.nodes.find((n) => n.index === c.srcNode)?.netns;
  return state.pods.find((p) => p.node === c.srcNode && p.name === c.from)?.netns;
}

async function probe(state: LabState, c: PlannedCheck): Promise<CheckResult> {
  if (c.to === SERVICE_TARGET) return probeService(state, c);
  // A pod's probe runs in the pod's cgroup, as its processes do.
  const cgroup = c.from === NODE_SOURCE ? undefined : state.pods.find((p) => p.node === c.srcNode && p.name === c.from)?.cgroup;
  const inPod = (argv: string[]): string[] => (cgroup ? inCgroup(cgroup, argv) : argv);
  const dst = state.pods.find((p) => p.node === c.dstNode && p.name === c.to);
  const srcNetns = sourceNetns(state, c);
  const dstIp = c.family === 6 ? dst?.ipv6 : dst?.ip;
  if (!dstIp || !srcNetns) {
    const what = !srcNetns ? `n${c.srcNode}/${c.from} missing` : `pod n${c.dstNode}/${c.to} ${dst ? `has no IPv${c.family} address` : 'missing'}`;
    return { ...c, target: '-', got: 'denied', reply: false, detail: what, ok: false };
  }
  if (c.proto === 'icmp') {
    const r = await run(inPod(inNetns(srcNetns, ['ping', `-${c.family}`, '-c', '1', '-W', '2', dstIp])), { timeoutMs: 10_000 });
    const got = r.code === 0 ? 'allowed' : 'denied';
    const detail = got === 'allowed' ? (/time=[\d.]+ ms/.exec(r.stdout)?.[0] ?? 'echo reply') : 'no echo reply';
    return { ...c, target: `${dstIp} (icmp)`, got, reply: got === 'allowed', detail, ok: got === c.expect };
  }
  const r = await run(inPod(inNetns(srcNetns, [process.execPath, demoProgram('probe'), dstIp, String(c.port), ...(c.path ? ['--path', c.path] : []), '--timeout', '2000'])), {
    timeoutMs: 10_000,
  });
  const detail = (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
  const target = `${c.family === 6 ? `[${dstIp}]:${c.port}` : `${dstIp}:${c.port}`}${c.path ?? ''}`;
  if (c.path) {
    const got = l7Outcome(r.code ?? -1, detail);
    return { ...c, target, got: got ?? 'denied', reply: r.code === 0, detail, ok: got === c.expect };
  }
  const got = r.code === 0 ? 'allowed' : 'denied';
  return { ...c, target, got, reply: got === 'allowed' && /^ok \d+/.test(detail), detail, ok: got === c.expect };
}

/**
 * The outcome of an L7 probe (exit code and last line of probe.js): allowed for a 2xx
 * answer, denied for the proxy's 403 "Access denied", undefined for anything else (a drop
 * or another answer is no L7 verdict).
 */
export function l7Outcome(code: number, detail: string): 'allowed' | 'denied' | undefined {
  if (code !== 0) return undefined;
  if (/^ok 2\d\d\b/.test(detail)) return 'allowed';
  if (/^ok 403 Access denied$/.test(detail)) return 'denied';
  return undefined;
}

/** Probes every case between every pair of nodes of lab `name`. */
export async function runChecks(name: string): Promise<CheckResult[]> {
  const layout = new LabLayout(name);
  const state = readState(layout.stateFile);
  if (!state) throw new Error(`checking lab "${name}" failed: no ${layout.stateFile}; start it with "tools/lab up --name ${name}"`);
  const families: Array<4 | 6> = state.demo?.ipv6 ? [4, 6] : [4];
  const nodes = state.nodes.map((n) => n.index);
  const plan = planChecks(nodes, state.demo?.policy ?? true, families, state.pods.some((p) => p.runtime) ? [...demoCases, ...runtimeCases] : demoCases);
  if (state.demo?.service) plan.push(...planServiceChecks(nodes, state.demo.policy, families), ...planNodePortChecks(nodes));
  // Each probe is a Node.js process: a few at a time keep a 2-core machine responsive.
  return pool(
    plan.map((c) => () => (c.to === NODEPORT_TARGET ? probeNodePort(layout, state, c) : probe(state, c))),
    6,
  );
}

/** The demo policy's cluster-wide revision and every node's `cilium policy wait` answer (undefined without the demo policy). */
export interface PolicyCheck {
  revision: number;
  waits: PolicyWaitResult[];
}

/** Proves with `cilium policy wait` that every node enforces the revision the demo policy got at `up`. */
export async function checkPolicyEverywhere(name: string): Promise<PolicyCheck | undefined> {
  const layout = new LabLayout(name);
  const state = readState(layout.stateFile);
  const revision = state?.demo?.policyRevision;
  if (!state || revision === undefined) return undefined;
  return { revision, waits: await waitPolicyEverywhere(layout, state.nodes.map((n) => n.index), revision, '10s') };
}

/** The summary row of the policy check. */
export function policyRows(policy: PolicyCheck | undefined): SummaryRow[] {
  if (!policy) return [];
  return [{ category: `policy revision ${policy.revision} enforced (cilium policy wait)`, passed: policy.waits.filter((w) => w.ok).length, total: policy.waits.length }];
}

/** Prints the check table and the summary; returns 1 if any cell differs from the expectation. */
export async function labCheck(o: CheckOptions): Promise<number> {
  const results = await runChecks(o.name);
  const policy = await checkPolicyEverywhere(o.name);
  if (o.json) process.stdout.write(JSON.stringify({ results, summary: [...summarize(results), ...policyRows(policy)], policy }, null, 2) + '\n');
  else {
    process.stdout.write(
      formatTable(
        ['SCOPE', 'IP', 'FROM', 'TO', 'TARGET', 'EXPECT', 'GOT', 'REPLY', 'RESULT', 'DETAIL'],
        results.map((r) => [
          scopeOf(r),
          `IPv${r.family}`,
          r.from === EXTERNAL_SOURCE ? 'fabric/world' : `n${r.srcNode}/${r.from}`,
          r.proto === 'icmp' ? `n${r.dstNode}/${r.to} icmp` : r.to === SERVICE_TARGET ? `${r.to}:${r.port}` : `n${r.dstNode}/${r.to}:${r.port}`,
          r.target,
          r.expect,
          r.got,
          r.reply ? 'yes' : '-',
          r.ok ? 'ok' : 'MISMATCH',
          r.detail,
        ]),
      ) + '\n\n',
    );
    process.stdout.write(
      formatTable(
        ['CHECK', 'PASSED', 'TOTAL', 'RESULT'],
        [...summarize(results), ...policyRows(policy)].map((s) => [s.category, String(s.passed), String(s.total), s.passed === s.total ? 'ok' : 'FAILED']),
      ) + '\n',
    );
  }
  const bad = results.filter((r) => !r.ok).length;
  if (bad > 0) process.stderr.write(`${bad} of ${results.length} checks differ from the expectation\n`);
  const lagging = policy?.waits.filter((w) => !w.ok) ?? [];
  for (const w of lagging) process.stderr.write(`n${w.node} does not enforce policy revision ${policy!.revision}: ${w.detail}\n`);
  return bad > 0 || lagging.length > 0 ? 1 : 0;
}
