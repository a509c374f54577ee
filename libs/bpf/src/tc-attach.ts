// Attaching pinned programs with iproute2's tc (clsact + a direct-action bpf filter),
// optionally inside another network namespace through nsenter. Node cannot setns() one
// thread, so programs are loaded and pinned in-process and tc attaches the pin.
import { execFile } from 'node:child_process';
import { TcError } from './errors.js';

/** tc hook of the clsact qdisc. */
export type TcHook = 'ingress' | 'egress';

/** Result of one command. */
export interface RunResult { status: number | null; stdout: string; stderr: string }

/** Runs argv (15 s limit); never rejects. */
export function runTc(argv: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: 15000 }, (err, stdout, stderr) => {
      // On a non-zero exit err.code is the exit status; on a spawn failure it is a string (ENOENT).
      const code = (err as { code?: unknown } | null)?.code;
      const status = err ? (typeof code === 'number' ? code : null) : 0;
      resolve({ status, stdout: String(stdout), stderr: String(stderr) || (err && status === null ? err.message : '') });
    });
  });
}

/** Prefixes argv to run in the network namespace at path (undefined: the current one). */
export function inNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? ['nsenter', `--net=${netns}`, '--', ...argv] : argv;
}

/** Where to attach: an interface, optionally in another network namespace. */
export interface TcTarget { ifname: string; netns?: string }

const FILTER = ['prio', '1', 'handle', '1', 'bpf'];

/** Ensures a clsact qdisc on the interface and attaches the pinned program at hook (replacing ours). */
export async function tcAttach(target: TcTarget, hook: TcHook, pinnedProgram: string): Promise<void> {
  const op = `attach ${pinnedProgram} to ${target.ifname} tc ${hook}${target.netns ? ` in netns ${target.netns}` : ''}`;
  const qdisc = inNetns(target.netns, ['tc', 'qdisc', 'replace', 'dev', target.ifname, 'clsact']);
  let r = await runTc(qdisc);
  if (r.status !== 0) throw new TcError(op, qdisc, r.status, r.stderr, 'check that the interface exists in that namespace and tc (iproute2) is installed');
  const filter = inNetns(target.netns, ['tc', 'filter', 'replace', 'dev', target.ifname, hook, ...FILTER, 'da', 'object-pinned', pinnedProgram]);
  r = await runTc(filter);
  if (r.status !== 0) throw new TcError(op, filter, r.status, r.stderr, 'the pin must be a BPF_PROG_TYPE_SCHED_CLS program on bpffs');
  // tc exits 0 on some failures it only prints; verify the filter is really there.
  const attached = await tcAttachedProgramId(target, hook);
  if (attached === undefined) throw new TcError(op, filter, r.status, r.stderr || 'filter not present after replace', 'check `tc filter show dev X ' + hook + '`');
}

const gone = /Cannot find device|Cannot find specified filter chain|No such file or directory|does not exist|Invalid handle|Parent Qdisc doesn't exist|Filter with specified priority\/protocol not found/i;

/** Removes our filter from hook; succeeds when the filter, device or namespace is already gone. */
export async function tcDetach(target: TcTarget, hook: TcHook): Promise<void> {
  const argv = inNetns(target.netns, ['tc', 'filter', 'del', 'dev', target.ifname, hook, ...FILTER]);
  const r = await runTc(argv);
  if (r.status !== 0 && !gone.test(r.stderr)) {
    throw new TcError(`detach tc ${hook} filter from ${target.ifname}`, argv, r.status, r.stderr, 'remove it by hand with `tc filter del dev IF ' + hook + ' prio 1 handle 1 bpf`');
  }
}

/** Kernel id of the program our filter runs at hook, or undefined when none is attached. */
export async function tcAttachedProgramId(target: TcTarget, hook: TcHook): Promise<number | undefined> {
  const argv = inNetns(target.netns, ['tc', 'filter', 'show', 'dev', target.ifname, hook, 'prio', '1']);
  const r = await runTc(argv);
  if (r.status !== 0) return undefined;
  const m = /handle 0x1 .*?\bid (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

/** ifindex of an interface (in netns when given), read with `ip -j link show`. */
export async function linkIfindex(target: TcTarget): Promise<number> {
  const argv = inNetns(target.netns, ['ip', '-j', 'link', 'show', 'dev', target.ifname]);
  const r = await runTc(argv);
  if (r.status !== 0) throw new TcError(`look up ifindex of ${target.ifname}`, argv, r.status, r.stderr, 'check the interface name and the netns path');
  const links = JSON.parse(r.stdout) as Array<{ ifindex: number }>;
  return links[0].ifindex;
}
