// `lab check`: on every node, probe the demo connectivity from inside the pod namespaces
// and compare with what the demo policy should allow.
import type { CheckOptions } from './args.js';
import { formatTable } from './cmd-status.js';
import { run } from './exec.js';
import { demoProgram, LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import { readState } from './state-file.js';

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

/** One probed cell. */
export interface CheckResult extends CheckCase {
  node: number;
  target: string;
  got: 'allowed' | 'denied';
  detail: string;
  ok: boolean;
}

/** Probes every case on every node of lab `name`. */
export async function runChecks(name: string): Promise<CheckResult[]> {
  const layout = new LabLayout(name);
  const state = readState(layout.stateFile);
  if (!state) throw new Error(`checking lab "${name}" failed: no ${layout.stateFile}; start it with "tools/lab up --name ${name}"`);
  const jobs: Promise<CheckResult>[] = [];
  for (const node of state.nodes) {
    for (const c of expectedCases(state.demo?.policy ?? true)) {
      const dst = state.pods.find((p) => p.node === node.index && p.name === c.to);
      const src = state.pods.find((p) => p.node === node.index && p.name === c.from);
      jobs.push(
        (async (): Promise<CheckResult> => {
          if (!dst?.ip || !src) {
            return { ...c, node: node.index, target: '-', got: 'denied', detail: `pod ${!src ? c.from : c.to} missing`, ok: false };
          }
          const r = await run(inNetns(src.netns, [process.execPath, demoProgram('probe'), dst.ip, String(c.port), '--timeout', '2000']), {
            timeoutMs: 10_000,
          });
          const got = r.code === 0 ? 'allowed' : 'denied';
          const detail = (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
          return { ...c, node: node.index, target: `${dst.ip}:${c.port}`, got, detail, ok: got === c.expect };
        })(),
      );
    }
  }
  return Promise.all(jobs);
}

/** Prints the check table; returns 1 if any cell differs from the expectation. */
export async function labCheck(o: CheckOptions): Promise<number> {
  const results = await runChecks(o.name);
  if (o.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else {
    process.stdout.write(
      formatTable(
        ['NODE', 'FROM', 'TO', 'TARGET', 'EXPECT', 'GOT', 'RESULT', 'DETAIL'],
        results.map((r) => [`n${r.node}`, r.from, `${r.to}:${r.port}`, r.target, r.expect, r.got, r.ok ? 'ok' : 'MISMATCH', r.detail]),
      ) + '\n',
    );
  }
  const bad = results.filter((r) => !r.ok).length;
  if (bad > 0) process.stderr.write(`${bad} of ${results.length} checks differ from the expectation\n`);
  return bad > 0 ? 1 : 0;
}
