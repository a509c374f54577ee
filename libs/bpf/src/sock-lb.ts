// East-west load balancing at the socket (bpf/sock.c): loads the cgroup sock_addr
// programs with their LB maps pinned under pinDir, attaches them to a cgroup v2 through
// pinned BPF links, and writes services into the maps (Cilium's lb4_/lb6_ layout).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMaglevTableSize, DefaultMaglevTableSize, type Service } from '@cilium-ts/loadbalancer';
import { BpfMap } from './bpf-map.js';
import { BpfError, DatapathInputError } from './errors.js';
import { LB_F2_LOCAL, lbCodecs, lbConfigCodec, type LbAlgorithm, LbAlgorithms, LbBackendStates, LbProtocolNames, LbProtocolNumbers, type LbBackendValue, type LbRevNatValue, type LbServiceKey, type LbServiceValue } from './lb-codecs.js';
import { BpfObject, check, closeFd, linkOps, objGet, objPin } from './libbpf.js';
import { MaglevTables, maglevOuterKey } from './maglev-tables.js';
import { type Codec, u32, u64 } from './map-codecs.js';

/** Value of sock_endpoints: struct sock_endpoint (endpoint id, padding). */
const sockEndpointCodec: Codec<number> = {
  size: 8,
  encode: (id) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(id, 0);
    return b;
  },
  decode: (b) => b.readUInt16LE(0),
};

/** The programs of sock.o and their enum bpf_attach_type values. */
export const SockPrograms = {
  sock4_connect: 10,
  sock6_connect: 11,
  sock4_sendmsg: 14,
  sock6_sendmsg: 15,
  sock4_recvmsg: 19,
  sock6_recvmsg: 20,
  sock4_getpeername: 29,
  sock6_getpeername: 30,
} as const;

/** The maps of sock.o, pinned as pinDir/<name> (nodeport.o reuses them through these pins). */
export const LB_MAPS = ['lb4_services', 'lb6_services', 'lb4_backends', 'lb6_backends', 'lb4_reverse_nat', 'lb6_reverse_nat', 'lb4_reverse_sk', 'lb6_reverse_sk', 'lb_config', 'lb4_maglev', 'lb6_maglev'] as const;

/** Maps of sock.o only (nodeport.o has no copy): pinned as pinDir/<name> too (sock_endpoints: netns cookie -> endpoint, for its trace records, bpf/trace-sock.h). */
export const SOCK_LB_MAPS = ['lb_affinity', 'sock_endpoints'] as const;

/** Service types in slot 0's flags (their index). */
const ServiceTypeNames = ['ClusterIP', 'NodePort', 'ExternalIPs', 'LoadBalancer'];
/** Most slots a weighted service may take (else one slot per backend). */
const MaxWeightedSlots = 1024;

/** The object built by `npm run build` (dist/bpf/sock.o). */
export function defaultSockObjectPath(): string {
  return fileURLToPath(new URL('./bpf/sock.o', import.meta.url));
}

/** A dump of the LB maps (cilium bpf lb list). */
export interface LbMapsDump {
  services: Array<{ frontend: { ip: string; port: number; protocol: string }; slot: number; backendId: number; count: number; revNatId: number; flags: string }>;
  backends: Array<{ id: number; address: { ip: string; port: number; protocol: string }; state: string }>;
  revNat: Array<{ id: number; address: { ip: string; port: number; protocol: string } }>;
}

interface FamilyMaps {
  maglev: MaglevTables;
  services: BpfMap<LbServiceKey, LbServiceValue>;
  backends: BpfMap<number, LbBackendValue>;
  revNat: BpfMap<number, LbRevNatValue>;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Slots of the active backends: one each, or proportional to their weights when that fits. */
export function backendSlots(weights: readonly number[]): number[] {
  const g = weights.reduce((x, w) => gcd(x, w), 0) || 1;
  const total = weights.reduce((s, w) => s + w / g, 0);
  if (total > MaxWeightedSlots) return weights.map((_, i) => i);
  return weights.flatMap((w, i) => Array<number>(w / g).fill(i));
}

/** How SocketLb.open loads the socket load balancer. */
export interface SocketLbOptions {
  /** bpffs directory of the node's pins. */
  pinDir: string;
  /** The compiled sock.o (default: dist/bpf/sock.o). */
  objectPath?: string;
  /** Backend selection (Cilium's --bpf-lb-algorithm): random (default) or maglev. */
  algorithm?: LbAlgorithm;
  /** Maglev table size (--bpf-lb-maglev-table-size): a prime of MaglevTableSizes, default 16381. */
  maglevTableSize?: number;
}

/** The socket load balancer of one node. */
export class SocketLb {
  private readonly maps: Record<4 | 6, FamilyMaps>;
  private readonly ids = new Map<string, number>();
  private readonly refs = new Map<number, Set<number>>();
  private readonly frontends = new Map<number, LbServiceKey & { count: number }>();
  private nextId = 1;

  private constructor(
    private readonly obj: BpfObject,
    private readonly pinDir: string,
    /** The backend selection algorithm. */
    readonly algorithm: LbAlgorithm,
    /** Slots of every Maglev table. */
    readonly maglevTableSize: number,
  ) {
    const open = (f: 4 | 6): FamilyMaps => {
      const c = lbCodecs(f);
      return {
        maglev: new MaglevTables(BpfMap.openPinned(join(pinDir, `lb${f}_maglev`), `lb${f}_maglev`, maglevOuterKey, u32), maglevTableSize),
        services: BpfMap.openPinned(join(pinDir, `lb${f}_services`), `lb${f}_services`, c.serviceKey, c.serviceValue),
        backends: BpfMap.openPinned(join(pinDir, `lb${f}_backends`), `lb${f}_backends`, c.backendId, c.backendValue),
        revNat: BpfMap.openPinned(join(pinDir, `lb${f}_reverse_nat`), `lb${f}_reverse_nat`, c.revNatKey, c.revNatValue),
      };
    };
    this.maps = { 4: open(4), 6: open(6) };
    // Pinned maps of a previous run: keep backend ids and frontends stable.
    for (const f of [4, 6] as const) {
      for (const [id, b] of this.maps[f].backends.entries()) {
        this.ids.set(`${b.ip}|${b.port}|${b.protocol}`, id);
        this.nextId = Math.max(this.nextId, id + 1);
      }
      for (const [k, v] of this.maps[f].services.entries()) if (k.slot === 0) this.frontends.set(v.revNat, { ...k, count: v.count });
    }
  }

  /**
   * Loads sock.o, its maps pinned as pinDir/<name> (reused when pinned: services survive
   * an agent restart) and its drop records into the datapath's `events` ring buffer
   * (pinDir/events, shared with datapath.o).
   */
  static open(opts: SocketLbOptions): SocketLb {
    const algorithm = opts.algorithm ?? 'random';
    if (!LbAlgorithms.includes(algorithm)) throw new DatapathInputError('algorithm', algorithm, `is not one of ${LbAlgorithms.join(', ')}`);
    const maglevTableSize = checkMaglevTableSize(opts.maglevTableSize ?? DefaultMaglevTableSize);
    mkdirSync(opts.pinDir, { recursive: true });
    const obj = BpfObject.open(opts.objectPath ?? defaultSockObjectPath());
    try {
      for (const m of [...LB_MAPS, ...SOCK_LB_MAPS, 'events']) {
        obj.setPinPath(m, join(opts.pinDir, m));
      }
      obj.load();
      const config = BpfMap.openPinned(join(opts.pinDir, 'lb_config'), 'lb_config', u32, lbConfigCodec);
      try {
        config.update(0, { algorithm, maglevTableSize });
      } finally {
        config.close();
      }
      return new SocketLb(obj, opts.pinDir, algorithm, maglevTableSize);
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  private linkDir(cgroupPath: string): string {
    return join(this.pinDir, 'sock', `cg${statSync(cgroupPath).ino}`);
  }

  /**
   * Attaches the socket programs to a cgroup v2 (every process in it and below is
   * load-balanced), through links pinned under pinDir/sock/cg<inode>/ (re-attaching
   * updates them). Refuses the root of a cgroup v2 hierarchy: nothing on the host may be
   * translated.
   */
  attachCgroup(cgroupPath: string): void {
    const st = statSync(cgroupPath, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new DatapathInputError('cgroup', cgroupPath, 'is not a cgroup v2 directory');
    if (st.dev !== statSync(dirname(cgroupPath)).dev) {
      throw new DatapathInputError('cgroup', cgroupPath, 'is the root of a cgroup hierarchy; attach to a cgroup made for the pods, never the root');
    }
    const dir = this.linkDir(cgroupPath);
    mkdirSync(dir, { recursive: true });
    const cgFd = openSync(cgroupPath, 'r');
    try {
      for (const [prog, attachType] of Object.entries(SockPrograms)) {
        const op = `attach ${prog} to cgroup ${cgroupPath}`;
        const progFd = this.obj.programFd(prog);
        const pin = join(dir, prog);
        if (existsSync(pin)) {
          const linkFd = objGet(pin, 'cgroup link');
          try {
            check(`${op} (update link ${pin})`, linkOps.update(linkFd, progFd));
          } finally {
            closeFd(linkFd);
          }
          continue;
        }
        const linkFd = check(op, linkOps.create(progFd, cgFd, attachType), 'needs a cgroup v2 directory (below the cgroup2 mount: /sys/fs/cgroup, /sys/fs/cgroup/unified on hybrid systems; see cgroup2Root) and CAP_BPF + CAP_NET_ADMIN');
        try {
          objPin(linkFd, pin, 'cgroup link');
        } finally {
          closeFd(linkFd);
        }
      }
    } finally {
      closeSync(cgFd);
    }
  }

  /**
   * Names the endpoint living in the network namespace with netns cookie `cookie` (see
   * netnsCookie) in this load balancer's trace records; `endpointId` 0 forgets it.
   */
  setNetnsEndpoint(cookie: bigint, endpointId: number): void {
    if (!Number.isInteger(endpointId) || endpointId < 0 || endpointId > 0xffff) throw new DatapathInputError('endpointId', String(endpointId), 'is not an endpoint id (0..65535)');
    const m = BpfMap.openPinned(join(this.pinDir, 'sock_endpoints'), 'sock_endpoints', u64, sockEndpointCodec);
    try {
      if (endpointId === 0) m.delete(cookie);
      else m.update(cookie, endpointId);
    } finally {
      m.close();
    }
  }

  /** Detaches from a cgroup (removes the pinned links); false when not attached. */
  detachCgroup(cgroupPath: string): boolean {
    const dir = this.linkDir(cgroupPath);
    if (!existsSync(dir)) return false;
    for (const f of readdirSync(dir)) unlinkSync(join(dir, f));
    rmSync(dir, { recursive: true, force: true });
    return true;
  }

  /** Writes a service: backends, their slots (active ones only), slot 0 last, reverse NAT. */
  upsertService(svc: Service): void {
    const f: 4 | 6 = svc.frontend.ip.includes(':') ? 6 : 4;
    const m = this.maps[f];
    const protocol = LbProtocolNumbers[svc.frontend.protocol];
    if (protocol === undefined) throw new DatapathInputError('frontend.protocol', svc.frontend.protocol, 'is not TCP, UDP or SCTP');
    const old = this.frontends.get(svc.id);
    const base = { ip: svc.frontend.ip, port: svc.frontend.port, protocol };
    if (old && (old.ip !== base.ip || old.port !== base.port || old.protocol !== base.protocol)) this.deleteService(svc.id);
    const oldCount = this.frontends.get(svc.id)?.count ?? 0;
    const ids = svc.backends.map((b) => this.backendId(f, { ip: b.ip, port: b.port, protocol, state: LbBackendStates.indexOf(b.state) }));
    const active = svc.backends.map((b, i) => ({ b, id: ids[i]! })).filter(({ b }) => b.state === 'active' && b.weight > 0);
    const slots = backendSlots(active.map(({ b }) => b.weight)).map((i) => active[i]!.id);
    if (slots.length > 0xffff) throw new DatapathInputError('backends', String(slots.length), 'more slots than a service holds (65535)');
    // The Maglev table before slot 0, so a new frontend never meets an old table.
    if (this.algorithm === 'maglev') m.maglev.write(svc.id, active.map(({ b, id }) => ({ id, key: `${b.ip}:${b.port}`, weight: b.weight })));
    else m.maglev.delete(svc.id);
    slots.forEach((id, i) => m.services.update({ ...base, slot: i + 1 }, { backendId: id, count: 0, revNat: svc.id, flags: 0 }));
    // Slot 0's backend id is the session affinity timeout (s), as Cilium's affinity_timeout (bpf/lb-affinity.h);
    // flags2 marks traffic policy Local for the per-packet frontends (bpf/lb-local.h).
    const flags2 = svc.trafficPolicy === 'Local' && svc.type !== 'ClusterIP' ? LB_F2_LOCAL : 0;
    m.services.update({ ...base, slot: 0 }, { backendId: svc.sessionAffinityTimeoutSeconds ?? 0, count: slots.length, revNat: svc.id, flags: Math.max(0, ServiceTypeNames.indexOf(svc.type)), flags2 });
    for (let s = slots.length + 1; s <= oldCount; s++) m.services.delete({ ...base, slot: s });
    m.revNat.update(svc.id, { ip: base.ip, port: base.port });
    this.frontends.set(svc.id, { ...base, slot: 0, count: slots.length });
    this.setRefs(svc.id, f, new Set(ids));
  }

  /** Removes a service (slot 0 first, so no new connection picks a slot being removed). */
  deleteService(id: number): void {
    const fe = this.frontends.get(id);
    if (!fe) return;
    const f: 4 | 6 = fe.ip.includes(':') ? 6 : 4;
    const m = this.maps[f];
    for (let s = 0; s <= fe.count; s++) m.services.delete({ ...fe, slot: s });
    m.maglev.delete(id);
    m.revNat.delete(id);
    this.frontends.delete(id);
    this.setRefs(id, f, new Set());
  }

  /** The maps as `cilium bpf lb list` shows them. */
  list(): LbMapsDump {
    const out: LbMapsDump = { services: [], backends: [], revNat: [] };
    const proto = (p: number): string => LbProtocolNames[p] ?? String(p);
    for (const f of [4, 6] as const) {
      const m = this.maps[f];
      for (const [k, v] of m.services.entries()) {
        const type = ServiceTypeNames[v.flags] ?? 'ClusterIP';
        out.services.push({ frontend: { ip: k.ip, port: k.port, protocol: proto(k.protocol) }, slot: k.slot, backendId: v.backendId, count: v.count, revNatId: v.revNat, flags: type === 'ClusterIP' ? 'ClusterIP, non-routable' : (v.flags2 ?? 0) & LB_F2_LOCAL ? `${type}, Local` : type });
      }
      for (const [id, b] of m.backends.entries()) out.backends.push({ id, address: { ip: b.ip, port: b.port, protocol: proto(b.protocol) }, state: LbBackendStates[b.state] ?? String(b.state) });
      for (const [id, r] of m.revNat.entries()) out.revNat.push({ id, address: { ip: r.ip, port: r.port, protocol: proto(this.frontends.get(id)?.protocol ?? 0) } });
    }
    out.services.sort((a, b) => a.revNatId - b.revNatId || a.slot - b.slot);
    out.backends.sort((a, b) => a.id - b.id);
    out.revNat.sort((a, b) => a.id - b.id);
    return out;
  }

  /**
   * Removes what the pinned maps hold beyond the live services: frontends (slots, reverse
   * NAT, Maglev tables) of other ids, and backends no live service uses. For after an agent
   * restart, once the live services have been written again: entries restored from the
   * pins that nothing wrote since (a service deleted, or a backend removed, while the agent
   * was down, and its state file older than its maps) are gone after it.
   */
  gc(live: Iterable<number>): { services: number[]; backends: number[] } {
    const keep = new Set(live);
    const services = [...this.frontends.keys()].filter((id) => !keep.has(id));
    for (const id of services) this.deleteService(id);
    const backends: number[] = [];
    for (const f of [4, 6] as const) {
      const m = this.maps[f];
      for (const id of m.revNat.entries().map(([k]) => k)) if (!keep.has(id)) m.revNat.delete(id);
      for (const id of m.maglev.ids()) if (!keep.has(id)) m.maglev.delete(id);
      for (const [id] of m.backends.entries()) {
        if (this.refs.has(id)) continue;
        m.backends.delete(id);
        backends.push(id);
      }
    }
    for (const [k, v] of [...this.ids]) if (!this.refs.has(v)) this.ids.delete(k);
    return { services, backends: backends.sort((a, b) => a - b) };
  }

  /** The Maglev table of service `id` as backend ids (undefined: none). */
  maglevTable(id: number): Uint32Array | undefined {
    const fe = this.frontends.get(id);
    return fe ? this.maps[fe.ip.includes(':') ? 6 : 4].maglev.read(id) : undefined;
  }

  /** Closes the maps and the object; pinned maps and links stay. */
  close(): void {
    for (const f of [4, 6] as const) for (const m of Object.values(this.maps[f])) m.close();
    this.obj.close();
  }

  private backendId(f: 4 | 6, v: LbBackendValue): number {
    const key = `${v.ip}|${v.port}|${v.protocol}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.nextId++;
      if (id > 0xffffffff) throw new BpfError('allocate a backend id', 28, { hint: 'backend ids are exhausted; restart with fresh pins' });
      this.ids.set(key, id);
    }
    this.maps[f].backends.update(id, v);
    return id;
  }

  // Records which backends a service uses; deletes backends no service uses any more.
  private setRefs(svcId: number, f: 4 | 6, ids: Set<number>): void {
    const released: number[] = [];
    for (const [id, users] of this.refs) {
      if (users.has(svcId) && !ids.has(id)) {
        users.delete(svcId);
        if (users.size === 0) released.push(id);
      }
    }
    for (const id of ids) {
      if (!this.refs.has(id)) this.refs.set(id, new Set());
      this.refs.get(id)!.add(svcId);
    }
    for (const id of released) {
      this.refs.delete(id);
      this.maps[f].backends.delete(id);
      for (const [k, v] of this.ids) if (v === id) this.ids.delete(k);
    }
  }
}
