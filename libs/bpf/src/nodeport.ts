// North-south load balancing per packet (bpf/nodeport.c): loads from-netdev / to-netdev
// with the socket LB's service maps and the datapath's shared maps (reused through their
// pins under pinDir), pins them under pinDir/nodeport/ and attaches them to the node's
// fabric-facing device (tc ingress / egress); writes the node's settings and lists the
// NodePort connections (cilium bpf nat list).
import { mkdirSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfMap } from './bpf-map.js';
import { SHARED_MAPS } from './endpoint-loader.js';
import { BpfObject, objPin } from './libbpf.js';
import { u32 } from './map-codecs.js';
import { nodePortConfigCodec, nodePortCtValueCodec, nodePortRevValueCodec, nodePortTupleCodec, type NodePortConfig, type NodePortCtValue, type NodePortRevValue, type NodePortTuple } from './nodeport-codecs.js';
import { rmQuiet } from './pin-files.js';
import { LB_MAPS } from './sock-lb.js';
import { readPinnedProgram } from './pinned-program.js';
import { tcAttach, tcAttachedProgramId, tcDetach, type TcHook, type TcTarget } from './tc-attach.js';

/** The maps of nodeport.o's own, pinned as pinDir/<name>. */
export const NODEPORT_MAPS = ['nodeport_config', 'nodeport_ct4', 'nodeport_rev4'] as const;

/** The programs of nodeport.o and the tc hook each runs at. */
const PROGRAMS: ReadonlyArray<{ name: string; pin: string; hook: TcHook }> = [
  { name: 'from_netdev', pin: 'from-netdev', hook: 'ingress' },
  { name: 'to_netdev', pin: 'to-netdev', hook: 'egress' },
];

/** The object built by `npm run build` (dist/bpf/nodeport.o). */
export function defaultNodePortObjectPath(): string {
  return fileURLToPath(new URL('./bpf/nodeport.o', import.meta.url));
}

/** A NodePort connection as `cilium bpf nat list` shows it. */
export interface NodePortEntry { tuple: NodePortTuple; value: NodePortCtValue }

/** A reverse entry: the reply tuple as the backend sends it, and what it becomes. */
export interface NodePortRevEntry { tuple: NodePortTuple; value: NodePortRevValue }

/** The NodePort side of one node's datapath. */
export class NodePortLb {
  constructor(
    private readonly pinDir: string,
    private readonly objectPath: string = defaultNodePortObjectPath(),
  ) {}

  private pin(name: string): string {
    return `${this.pinDir}/nodeport/${name}`;
  }

  /**
   * Loads nodeport.o (its maps and the shared ones through their pins: open the datapath
   * and the socket LB on pinDir first), pins the programs and attaches them to target:
   * from-netdev on tc ingress, to-netdev on egress. A program that is attached already and
   * is the same (same instructions by the kernel's tag, same constants, the same pinned
   * maps) stays as it is, as endpoint and overlay programs do over an agent restart;
   * otherwise the new one replaces it atomically. The connections (pinned maps) stay.
   */
  async attach(target: TcTarget): Promise<{ reattached: boolean }> {
    mkdirSync(`${this.pinDir}/nodeport`, { recursive: true });
    const obj = BpfObject.open(this.objectPath);
    try {
      for (const m of [...SHARED_MAPS, ...LB_MAPS, ...NODEPORT_MAPS]) obj.setPinPath(m, `${this.pinDir}/${m}`);
      obj.load();
      for (const p of PROGRAMS) {
        rmQuiet(`${this.pin(p.pin)}-new`);
        objPin(obj.programFd(p.name), `${this.pin(p.pin)}-new`, `program ${p.name}`);
      }
    } finally {
      obj.close();
    }
    let reattached = false;
    for (const p of PROGRAMS) {
      const fresh = `${this.pin(p.pin)}-new`;
      try {
        if (await this.isCurrent(target, p, fresh)) {
          rmQuiet(fresh);
          continue;
        }
        await tcAttach(target, p.hook, fresh);
        renameSync(fresh, this.pin(p.pin));
        reattached = true;
      } catch (err) {
        for (const q of PROGRAMS) rmQuiet(`${this.pin(q.pin)}-new`);
        throw err;
      }
    }
    return { reattached };
  }

  /** True when the program pinned for p is attached at its hook and equals the one just loaded at fresh. */
  private async isCurrent(target: TcTarget, p: { name: string; pin: string; hook: TcHook }, fresh: string): Promise<boolean> {
    const current = readPinnedProgram(this.pin(p.pin), `program ${p.name}`);
    const next = readPinnedProgram(fresh, `program ${p.name}`);
    if (!current || !next || current.tag !== next.tag || !current.rodata.equals(next.rodata)) return false;
    if (current.maps.size !== next.maps.size) return false;
    for (const [name, id] of next.maps) {
      // .rodata is per load: compared by content above.
      if (!current.maps.has(name) || (!name.endsWith('.rodata') && current.maps.get(name) !== id)) return false;
    }
    return (await tcAttachedProgramId(target, p.hook)) === current.id;
  }

  /** Detaches both programs from target and removes their pins; succeeds when already gone. */
  async detach(target: TcTarget): Promise<void> {
    for (const p of PROGRAMS) {
      await tcDetach(target, p.hook);
      rmQuiet(this.pin(p.pin));
    }
  }

  /** Writes the node's settings (undefined: NodePort off, every packet passes). */
  setConfig(cfg: NodePortConfig | undefined): void {
    const map = BpfMap.openPinned(`${this.pinDir}/nodeport_config`, 'nodeport_config', u32, nodePortConfigCodec);
    try {
      map.update(0, cfg);
    } finally {
      map.close();
    }
  }

  /** The NodePort connections: client tuple -> backend (and SNAT port). */
  connections(): NodePortEntry[] {
    const map = BpfMap.openPinned(`${this.pinDir}/nodeport_ct4`, 'nodeport_ct4', nodePortTupleCodec, nodePortCtValueCodec);
    try {
      return map.entries().map(([tuple, value]) => ({ tuple, value }));
    } finally {
      map.close();
    }
  }

  /** The reverse entries: reply tuple -> the client and frontend it is rewritten to. */
  reverse(): NodePortRevEntry[] {
    const map = BpfMap.openPinned(`${this.pinDir}/nodeport_rev4`, 'nodeport_rev4', nodePortTupleCodec, nodePortRevValueCodec);
    try {
      return map.entries().map(([tuple, value]) => ({ tuple, value }));
    } finally {
      map.close();
    }
  }
}
