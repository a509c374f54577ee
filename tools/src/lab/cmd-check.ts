// `lab check`: a connectivity test across every pair of nodes, in the manner of
// `cilium connectivity test`: from the client and other pods of every node to the web pod
// of every node (the same node and across nodes), compared with what the demo policy
// allows. A probe is an HTTP GET, so an allowed probe also proves the reply path. In a
// dual-stack lab every case is probed over IPv4 and over IPv6.
import type { CheckOptions } from './args.js';
import { formatTable } from './cmd-status.js';
import { run } from './exec.js';
import { demoProgram, LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import { readState, type LabState } from './state-file.js';

/** One expected connection of the demo. */
export interface CheckCase {
  from: string;
  to: string;
  port: number;
  expect: 'allowed' | 'denied';
}

/** The demo's expectations (with the demo policy imported). */
export const demoCases: readonly CheckCase[] = [
  { from: 'client', to: 'web', port: 80, expect: 'allowed' },
  { from: 'client', to: 'web', port: 8080, expect: 'denied' },
  { from: 'other', to: 'web', port: 80, expect: 'denied' },
];

/** The expectations of a lab: the demo's, or everything allowed when no policy was imported. */
export function expectedCases(policy: boolean): CheckCase[] {
  return demoCases.map((c) => (policy ? { ...c } : { ...c, expect: 'allowed' }));
}

/** A case between two nodes (equal for the same-node cases) over one address family. */
export interface PlannedCheck extends CheckCase {
  srcNode: number;
  dstNode: number;
  family: 4 | 6;
}

/** Every case for every ordered pair of nodes and every family: IPv4 first, same-node pairs first. */
export function planChecks(nodes: readonly number[], policy: boolean, families: ReadonlyArray<4 | 6> = [4]): PlannedCheck[] {
  const out: PlannedCheck[] = [];
  for (const family of families) {
    for (const same of [true, false]) {
      for (const srcNode of nodes) {
        for (const dstNode of nodes) {
          if ((srcNode === dstNode) !== same) continue;
          for (const c of expectedCases(policy)) out.push({ ...c, srcNode, dstNode, family });
        }
      }
    }
  }
  return out;
}

/** One probed cell. */
export interface CheckResult extends PlannedCheck {
  target: string;
  got: 'allowed' | 'denied';
  /** True when an HTTP answer came back (the reply path works). */
  reply: boolean;
  detail: string;
  ok: boolean;
}

/** Scope of a check: same node or across nodes. */
export function scopeOf(c: PlannedCheck): 'same-node' | 'cross-node' {
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
    for (const scope of ['same-node', 'cross-node'] as const) {
      for (const expect of ['allowed', 'denied'] as const) {
        const sel = results.filter((r) => r.family === family && scopeOf(r) === scope && r.expect === expect);
        const category = `${scope} ${expect === 'allowed' ? 'allowed' : 'denied by policy'}${family === 6 ? ' (IPv6)' : ''}`;
        if (sel.length > 0) rows.push({ category, passed: sel.filter((r) => r.ok).length, total: sel.length });
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

async function probe(state: LabState, c: PlannedCheck): Promise<CheckResult> {
  const dst = state.pods.find((p) => p.node === c.dstNode && p.name === c.to);
  const src = state.pods.find((p) => p.node === c.srcNode && p.name === c.from);
  const dstIp = c.family === 6 ? dst?.ipv6 : dst?.ip;
  if (!dstIp || !src) {
    const what = !src ? `pod n${c.srcNode}/${c.from} missing` : `pod n${c.dstNode}/${c.to} ${dst ? `has no IPv${c.family} address` : 'missing'}`;
    return { ...c, target: '-', got: 'denied', reply: false, detail: what, ok: false };
  }
  const r = await run(inNetns(src.netns, [process.execPath, demoProgram('probe'), dstIp, String(c.port), '--timeout', '2000']), {
    timeoutMs: 10_000,
  });
  const got = r.code === 0 ? 'allowed' : 'denied';
  const detail = (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
  const target = c.family === 6 ? `[${dstIp}]:${c.port}` : `${dstIp}:${c.port}`;
  return { ...c, target, got, reply: got === 'allowed' && /^ok \d+/.test(detail), detail, ok: got === c.expect };
}

/** Probes every case between every pair of nodes of lab `name`. */
export async function runChecks(name: string): Promise<CheckResult[]> {
  const layout = new LabLayout(name);
  const state = readState(layout.stateFile);
  if (!state) throw new Error(`checking lab "${name}" failed: no ${layout.stateFile}; start it with "tools/lab up --name ${name}"`);
  const plan = planChecks(
    state.nodes.map((n) => n.index),
    state.demo?.policy ?? true,
    state.demo?.ipv6 ? [4, 6] : [4],
  );
  // Each probe is a Node.js process: a few at a time keep a 2-core machine responsive.
  return pool(
    plan.map((c) => () => probe(state, c)),
    6,
  );
}

/** Prints the check table and the summary; returns 1 if any cell differs from the expectation. */
export async function labCheck(o: CheckOptions): Promise<number> {
  const results = await runChecks(o.name);
  if (o.json) process.stdout.write(JSON.stringify({ results, summary: summarize(results) }, null, 2) + '\n');
  else {
    process.stdout.write(
      formatTable(
        ['SCOPE', 'IP', 'FROM', 'TO', 'TARGET', 'EXPECT', 'GOT', 'REPLY', 'RESULT', 'DETAIL'],
        results.map((r) => [
          scopeOf(r),
          `IPv${r.family}`,
          `n${r.srcNode}/${r.from}`,
          `n${r.dstNode}/${r.to}:${r.port}`,
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
        summarize(results).map((s) => [s.category, String(s.passed), String(s.total), s.passed === s.total ? 'ok' : 'FAILED']),
      ) + '\n',
    );
  }
  const bad = results.filter((r) => !r.ok).length;
  if (bad > 0) process.stderr.write(`${bad} of ${results.length} checks differ from the expectation\n`);
  return bad > 0 ? 1 : 0;
}
