// The lab's cluster-wide policy: imported once (stored in etcd by node 1's agent), then
// proven enforced on every node with `cilium policy wait`.
import { ciliumArgv } from './cilium-cli.js';
import { CommandFailedError } from './errors.js';
import { run } from './exec.js';
import type { LabLayout } from './layout.js';

/** Imports a policy file cluster-wide through node 1's agent; returns the revision it got. */
export async function importClusterPolicy(layout: LabLayout, file: string): Promise<number> {
  const argv = ciliumArgv(layout.agentSocket(1), 'policy', 'import', file, '-o', 'json');
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
  return Number((JSON.parse(r.stdout) as { revision: string | number }).revision);
}

/** One node's answer to `cilium policy wait`. */
export interface PolicyWaitResult {
  node: number;
  ok: boolean;
  detail: string;
}

/** Asks every node whether it enforces `revision` (waiting up to `maxWait`, a Go duration). */
export async function waitPolicyEverywhere(layout: LabLayout, nodes: readonly number[], revision: number, maxWait = '30s'): Promise<PolicyWaitResult[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const r = await run(ciliumArgv(layout.agentSocket(node), 'policy', 'wait', String(revision), '--max-wait-time', maxWait), { timeoutMs: 120_000 });
      return { node, ok: r.code === 0, detail: (r.code === 0 ? r.stdout : r.stderr || r.stdout).trim() };
    }),
  );
}
