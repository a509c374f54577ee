// cilium policy wait REVISION: returns once this node enforces the cluster-wide revision.
import { unary } from '@cilium-ts/grpc';
import { DurationError, parseDuration } from '@cilium-ts/process';
import { CliError, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';

/** Longest wait the agent accepts in one call (its timeout_ms is 32 bits). */
const MaxWaitMs = 0xffffffff;

/** `cilium policy wait REVISION [--max-wait-time 6m]`; exit 1 (naming the enforced revision) when it runs out. */
export const policyWaitCommand = defineCommand({
  path: ['policy', 'wait'],
  summary: 'wait until this node enforces a cluster-wide policy revision (as printed by policy import)',
  positionals: 'REVISION',
  flags: {
    ...hostFlag,
    ...outputFlag,
    maxWaitTime: { type: 'string', default: '6m', description: 'give up after this long (Go duration: 30s, 2m, 1m30s)' },
  },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one policy REVISION');
    const json = wantsJson(values.output);
    const raw = positionals[0]!;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new CliError(`revision "${raw}" is not a number`, 2);
    let waitMs: number;
    try {
      waitMs = parseDuration(values.maxWaitTime, 'max-wait-time');
    } catch (err) {
      if (err instanceof DurationError) throw new CliError(err.message, 2, { cause: err });
      throw err;
    }
    if (waitMs < 1 || waitMs > MaxWaitMs) throw new CliError(`--max-wait-time: "${values.maxWaitTime}" must be between 1ms and ${MaxWaitMs} ms`, 2);
    const conn = ctx.connect(values.host);
    // The call's own deadline is the wait plus the connection's usual allowance.
    const res = await conn.call('Policy.Wait', (deadline) => unary(conn.policy, 'wait', { revision: BigInt(raw), timeoutMs: waitMs }, { deadline: deadline + waitMs }));
    if (json) printJson(ctx.stdout, { revision: res.revision });
    else ctx.stdout.write(`Policy revision ${raw} is enforced (this node enforces revision ${res.revision})\n`);
    return 0;
  },
});
