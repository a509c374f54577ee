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
import { tcAttach, tcDetach, type TcHook, type TcTarget } from './tc-attach.js';

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
   * from-netdev on tc ingress, to-netdev on egress. Re-attaching replaces them; the
   * connections (pinned maps) stay.
   */
  async attach(target: TcTarget): Promise<void> {
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
    for (const p of PROGRAMS) {
      try {
        await tcAttach(target, p.hook, `${this.pin(p.pin)}-new`);
        renameSync(`${this.pin(p.pin)}-new`, this.pin(p.pin));
      } catch (err) {
        for (const q of PROGRAMS) rmQuiet(`${this.pin(q.pin)}-new`);
        throw err;
      }
    }
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
