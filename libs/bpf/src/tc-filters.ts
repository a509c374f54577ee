// Every tc BPF filter of a network namespace (clsact ingress and egress of each interface)
// with the kernel id of the program it runs, and removing one: what `cilium cleanup`
// needs to take this node's programs off its devices and endpoints' host veths while
// leaving anyone else's filters alone.
import { TcError } from './errors.js';
import { inNetns, runTc, type TcHook } from './tc-attach.js';

/** One tc BPF filter. */
export interface TcBpfFilter {
  ifname: string;
  hook: TcHook;
  /** Filter priority (tc's pref). */
  pref: number;
  /** Filter handle, e.g. "0x1". */
  handle: string;
  /** Kernel id and name of the program it runs. */
  progId: number;
  progName: string;
}

interface TcJsonFilter {
  kind?: string;
  pref?: number;
  options?: { handle?: string; prog?: { id?: number; name?: string } };
}

/** Interfaces of the namespace (undefined: the current one), by name. */
export async function listLinkNames(netns: string | undefined): Promise<string[]> {
  const argv = inNetns(netns, ['ip', '-j', 'link', 'show']);
  const r = await runTc(argv);
  if (r.status !== 0) throw new TcError(`list the interfaces${netns ? ` of ${netns}` : ''}`, argv, r.status, r.stderr, 'check the network namespace path');
  return (JSON.parse(r.stdout) as Array<{ ifname: string }>).map((l) => l.ifname.split('@')[0]!);
}

/** Every BPF filter on the clsact hooks of every interface of the namespace. */
export async function listTcBpfFilters(netns: string | undefined): Promise<TcBpfFilter[]> {
  const out: TcBpfFilter[] = [];
  for (const ifname of await listLinkNames(netns)) {
    for (const hook of ['ingress', 'egress'] as const) {
      const argv = inNetns(netns, ['tc', '-j', 'filter', 'show', 'dev', ifname, hook]);
      const r = await runTc(argv);
      // No clsact qdisc on the interface (or it went away meanwhile): no filters.
      if (r.status !== 0 || r.stdout.trim() === '') continue;
      for (const f of JSON.parse(r.stdout) as TcJsonFilter[]) {
        const prog = f.options?.prog;
        if (f.kind !== 'bpf' || prog?.id === undefined || f.options?.handle === undefined || f.pref === undefined) continue;
        out.push({ ifname, hook, pref: f.pref, handle: f.options.handle, progId: prog.id, progName: prog.name ?? '' });
      }
    }
  }
  return out;
}

/** Deletes one filter; succeeds when it is already gone. */
export async function deleteTcBpfFilter(netns: string | undefined, f: TcBpfFilter): Promise<void> {
  const argv = inNetns(netns, ['tc', 'filter', 'del', 'dev', f.ifname, f.hook, 'pref', String(f.pref), 'handle', f.handle, 'bpf']);
  const r = await runTc(argv);
  if (r.status !== 0 && !/Cannot find device|No such file or directory|not found|Invalid handle|Parent Qdisc doesn't exist/i.test(r.stderr)) {
    throw new TcError(`remove the tc ${f.hook} filter of ${f.ifname} (program ${f.progId} ${f.progName})`, argv, r.status, r.stderr, `remove it by hand with \`tc filter del dev ${f.ifname} ${f.hook} pref ${f.pref} handle ${f.handle} bpf\``);
  }
}
