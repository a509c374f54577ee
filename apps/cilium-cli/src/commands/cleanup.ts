// cilium cleanup: removes this node's datapath state, as upstream's `cilium cleanup`: the tc
// filters that run this node's programs (on its devices and its endpoints' host veths),
// every pin under its bpffs folder (maps, programs, and the links that attach programs to
// cgroups and tcx hooks), and with --all-state its run state (endpoint, IPAM and policy
// state files). Programs are recognised by their kernel ids (read from the pins), so filters
// of anyone else stay. Asks first on a terminal (--force: without asking); refuses while the
// agent answers unless --force (its endpoints would lose their datapath under it).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { Datapath, deleteTcBpfFilter, listTcBpfFilters, pinnedProgramIds, pinPaths, type TcBpfFilter } from '@cilium-ts/bpf';
import { unary } from '@cilium-ts/grpc';
import type { AgentConnection } from '../agent-connection.js';
import { CliError, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';

/** What a cleanup removes. */
export interface CleanupPlan {
  /** tc filters running one of this node's programs. */
  filters: TcBpfFilter[];
  /** Pins below the pin directory (relative names). */
  pins: string[];
  /** The state directory, when --all-state and it exists. */
  stateDir?: string;
  /** Entries of the state directory when planned. */
  stateEntries: number;
}

/** Where this node's state lives. */
export interface CleanupTarget {
  /** The node's network namespace path; undefined: this one. */
  netns?: string;
  pinDir: string;
  stateDir: string;
  allState: boolean;
}

/** Finds what belongs to this node (nothing is changed). */
export async function planCleanup(t: CleanupTarget): Promise<CleanupPlan> {
  const ours = pinnedProgramIds(t.pinDir);
  const filters = ours.size === 0 ? [] : (await listTcBpfFilters(t.netns)).filter((f) => ours.has(f.progId));
  const pins = existsSync(t.pinDir) ? pinPaths(t.pinDir) : [];
  const stateDir = t.allState && existsSync(t.stateDir) ? t.stateDir : undefined;
  return { filters, pins, stateDir, stateEntries: stateDir ? readdirSync(stateDir).length : 0 };
}

/** Whether the plan removes nothing. */
export function planIsEmpty(p: CleanupPlan): boolean {
  return p.filters.length === 0 && p.pins.length === 0 && p.stateDir === undefined;
}

/** The plan as text, one line per thing removed. */
export function formatPlan(p: CleanupPlan, t: CleanupTarget): string {
  const lines = [
    ...p.filters.map((f) => `tc filter: ${f.ifname} ${f.hook} pref ${f.pref} handle ${f.handle} (program ${f.progId} ${f.progName})`),
    ...(p.pins.length > 0 ? [`bpffs: ${t.pinDir} (${p.pins.length} pins)`] : []),
    ...(p.stateDir ? [`state: ${p.stateDir} (${p.stateEntries} entries)`] : []),
  ];
  return lines.map((l) => `  ${l}\n`).join('');
}

/** Removes what the plan lists: filters first (programs stop running), then pins, then the state. */
export async function applyCleanup(p: CleanupPlan, t: CleanupTarget): Promise<void> {
  for (const f of p.filters) await deleteTcBpfFilter(t.netns, f);
  Datapath.removePins(t.pinDir);
  if (existsSync(t.pinDir)) throw new CliError(`${t.pinDir} is not empty after removing its pins (something else is pinned there?); nothing else was removed from it`);
  if (p.stateDir) rmSync(p.stateDir, { recursive: true, force: true });
}

/** Whether an agent answers at the connection's address. */
async function agentAnswers(conn: AgentConnection): Promise<boolean> {
  try {
    await conn.call('Daemon.Status', (deadline) => unary(conn.daemon, 'status', {}, { deadline: Math.min(deadline, 3000) }));
    return true;
  } catch {
    return false;
  }
}

/** `cilium cleanup [--force] [--all-state] [--bpf-pin-dir D] [--state-dir D] [--node-netns P]`. */
export const cleanupCommand = defineCommand({
  path: ['cleanup'],
  summary: "remove this node's datapath state (tc programs, bpffs pins; --all-state: run state too)",
  flags: {
    ...hostFlag,
    ...outputFlag,
    force: { type: 'boolean', description: 'do not ask, and clean up even while the agent answers' },
    allState: { type: 'boolean', description: 'also remove the run state (the agent\'s --state-dir)' },
    bpfPinDir: { type: 'string', default: '/sys/fs/bpf/cilium-ts', description: 'the agent\'s --bpf-pin-dir' },
    stateDir: { type: 'string', default: '/run/cilium-ts/state', description: 'the agent\'s --state-dir' },
    nodeNetns: { type: 'string', description: 'the agent\'s --node-netns (default: this network namespace)' },
  },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const t: CleanupTarget = { netns: values.nodeNetns || undefined, pinDir: values.bpfPinDir, stateDir: values.stateDir, allState: values.allState };
    if (t.pinDir === '/' || t.pinDir === '/sys/fs/bpf' || t.stateDir === '/') throw new CliError(`refusing to remove ${t.pinDir === '/' || t.pinDir === '/sys/fs/bpf' ? `--bpf-pin-dir ${t.pinDir}` : `--state-dir ${t.stateDir}`}: give the node's own folder`, 2);
    if (await agentAnswers(ctx.connect(values.host))) {
      if (!values.force) throw new CliError(`the agent at ${values.host} is running: stop it first (its endpoints would lose their datapath under it), or use --force`);
      ctx.stderr.write(`Warning: the agent at ${values.host} is running; its endpoints lose their datapath\n`);
    }
    const plan = await planCleanup(t);
    if (planIsEmpty(plan)) {
      if (json) printJson(ctx.stdout, { removed: { filters: [], pins: 0, stateDir: '' } });
      else ctx.stdout.write('Nothing to clean up\n');
      return 0;
    }
    if (!values.force) {
      ctx.stderr.write(`This removes:\n${formatPlan(plan, t)}`);
      const yes = await ctx.confirm('Do you want to continue?');
      if (yes === undefined) throw new CliError('not asking without a terminal: use --force to clean up without asking');
      if (!yes) {
        ctx.stderr.write('Nothing removed\n');
        return 1;
      }
    }
    await applyCleanup(plan, t);
    const left = await planCleanup(t);
    if (!planIsEmpty(left)) throw new CliError(`cleanup left state behind:\n${formatPlan(left, t)}`);
    if (json) printJson(ctx.stdout, { removed: { filters: plan.filters, pins: plan.pins.length, stateDir: plan.stateDir ?? '' } });
    else ctx.stdout.write(`Removed:\n${formatPlan(plan, t)}`);
    return 0;
  },
});
