// Byte layouts of the datapath maps' keys and values, mirroring libs/bpf/bpf/maps.h
// (little-endian host order for integers, network order for addresses).
import { DatapathInputError } from './errors.js';
import { formatIp, parseIp, type Cidr } from './ip-address.js';

/** Encodes and decodes one fixed-size map key or value. */
export interface Codec<T> {
  /** Size in bytes, equal to the C struct's sizeof. */
  readonly size: number;
  encode(value: T): Buffer;
  decode(buf: Buffer): T;
}

import type { Direction, PolicyEntry } from '@cilium-ts/policy';

/**
 * One policy map entry (identity 0 = any identity, protocol 0 = any, port 0 = any port; a
 * port range is expanded into one map entry per port) and the traffic direction: declared
 * once, by libs/policy, which computes them.
 */
export type { Direction, PolicyEntry };

const addr16 = (family: 4 | 6, bytes: Buffer): Buffer => {
  const out = Buffer.alloc(16);
  bytes.copy(out, 0, 0, family === 4 ? 4 : 16);
  return out;
};
const family = (b: number): 4 | 6 => (b === 6 ? 6 : 4);

/** ipcache LPM key: prefixlen counts the 32 bits of family+pad before the address. */
export const ipcacheKey: Codec<Cidr> = {
  size: 24,
  encode(c) {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(32 + c.prefixLen, 0);
    b[4] = c.family;
    addr16(c.family, c.bytes).copy(b, 8);
    return b;
  },
  decode(b) {
    const f = family(b[4]);
    return { family: f, bytes: Buffer.from(b.subarray(8, f === 4 ? 12 : 24)), prefixLen: b.readUInt32LE(0) - 32 };
  },
};

/** ipcache value: identity and the IP of the node hosting the address. */
export interface IpcacheValue { identity: number; hostIp?: string }

/** ipcache value codec. */
export const ipcacheValue: Codec<IpcacheValue> = {
  size: 24,
  encode(v) {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(v.identity >>> 0, 0);
    if (v.hostIp) {
      const ip = parseIp(v.hostIp, 'hostIp');
      b[4] = ip.family;
      addr16(ip.family, ip.bytes).copy(b, 8);
    }
    return b;
  },
  decode(b) {
    const v: IpcacheValue = { identity: b.readUInt32LE(0) };
    if (b[4] === 4 || b[4] === 6) v.hostIp = formatIp(b[4], b.subarray(8, 24));
    return v;
  },
};

/** A connection tracking key: the tuple as the opening packet carried it. */
export interface CtKey {
  family: 4 | 6; saddr: string; daddr: string; sport: number; dport: number; protocol: number;
  endpointId: number; direction: Direction;
}

/** ct key codec. */
export const ctKey: Codec<CtKey> = {
  size: 44,
  encode(k) {
    const b = Buffer.alloc(44);
    addr16(k.family, parseIp(k.saddr).bytes).copy(b, 0);
    addr16(k.family, parseIp(k.daddr).bytes).copy(b, 16);
    b.writeUInt16LE(k.sport, 32);
    b.writeUInt16LE(k.dport, 34);
    b[36] = k.protocol;
    b[37] = k.family;
    b.writeUInt16LE(k.endpointId, 38);
    b[40] = k.direction === 'egress' ? 1 : 0;
    return b;
  },
  decode(b) {
    const f = family(b[37]);
    return {
      family: f, saddr: formatIp(f, b.subarray(0, 16)), daddr: formatIp(f, b.subarray(16, 32)),
      sport: b.readUInt16LE(32), dport: b.readUInt16LE(34), protocol: b[36],
      endpointId: b.readUInt16LE(38), direction: b[40] === 1 ? 'egress' : 'ingress',
    };
  },
};

/** A connection tracking entry's state. */
export interface CtValue {
  createdNs: bigint; lastSeenNs: bigint; packets: bigint; bytes: bigint;
  peerIdentity: number; tcpFlagsSeen: number; seenReply: boolean; proxyPort: number;
}

/** ct value codec. */
export const ctValue: Codec<CtValue> = {
  size: 40,
  encode(v) {
    const b = Buffer.alloc(40);
    b.writeBigUInt64LE(v.createdNs, 0);
    b.writeBigUInt64LE(v.lastSeenNs, 8);
    b.writeBigUInt64LE(v.packets, 16);
    b.writeBigUInt64LE(v.bytes, 24);
    b.writeUInt32LE(v.peerIdentity >>> 0, 32);
    b[36] = v.tcpFlagsSeen;
    b[37] = v.seenReply ? 1 : 0;
    b.writeUInt16LE(v.proxyPort, 38);
    return b;
  },
  decode(b) {
    return {
      createdNs: b.readBigUInt64LE(0), lastSeenNs: b.readBigUInt64LE(8), packets: b.readBigUInt64LE(16),
      bytes: b.readBigUInt64LE(24), peerIdentity: b.readUInt32LE(32), tcpFlagsSeen: b[36],
      seenReply: (b[37] & 1) !== 0, proxyPort: b.readUInt16LE(38),
    };
  },
};

/** policy map key (one port; ranges are expanded by policyMapEntries). */
export interface PolicyKey { direction: Direction; identity: number; protocol: number; port: number }

/** policy key codec. */
export const policyKey: Codec<PolicyKey> = {
  size: 8,
  encode(k) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(k.identity >>> 0, 0);
    b.writeUInt16LE(k.port, 4);
    b[6] = k.protocol;
    b[7] = k.direction === 'egress' ? 1 : 0;
    return b;
  },
  decode(b) {
    return { identity: b.readUInt32LE(0), port: b.readUInt16LE(4), protocol: b[6], direction: b[7] === 1 ? 'egress' : 'ingress' };
  },
};

/** policy map value. */
export interface PolicyValue { deny: boolean; proxyPort: number }

/** policy value codec. */
export const policyValue: Codec<PolicyValue> = {
  size: 4,
  encode(v) {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(v.proxyPort, 0);
    b[2] = v.deny ? 1 : 0;
    return b;
  },
  decode(b) {
    return { proxyPort: b.readUInt16LE(0), deny: (b[2] & 1) !== 0 };
  },
};

/** Most map entries one PolicyEntry list may expand to (the policy map's max_entries). */
export const POLICY_MAP_MAX_ENTRIES = 16384;

/** Expands policy entries into map entries (port ranges become one entry per port), validating each. */
export function policyMapEntries(policy: readonly PolicyEntry[]): Map<string, { key: PolicyKey; value: PolicyValue }> {
  const out = new Map<string, { key: PolicyKey; value: PolicyValue }>();
  policy.forEach((e, i) => {
    const at = `policy[${i}]`;
    if (e.direction !== 'ingress' && e.direction !== 'egress') throw new DatapathInputError(`${at}.direction`, e.direction, "must be 'ingress' or 'egress'");
    if (!Number.isInteger(e.identity) || e.identity < 0 || e.identity > 0xffffffff) throw new DatapathInputError(`${at}.identity`, e.identity, 'must be an integer 0..2^32-1');
    if (!Number.isInteger(e.protocol) || e.protocol < 0 || e.protocol > 255) throw new DatapathInputError(`${at}.protocol`, e.protocol, 'must be an IP protocol number 0..255');
    if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new DatapathInputError(`${at}.port`, e.port, 'must be 0..65535');
    const end = e.endPort ?? e.port;
    if (!Number.isInteger(end) || end < e.port || end > 65535) throw new DatapathInputError(`${at}.endPort`, e.endPort, `must be ${e.port}..65535`);
    if (e.port === 0 && end !== 0) throw new DatapathInputError(`${at}.endPort`, e.endPort, 'a range cannot start at port 0 (0 means any port)');
    if (e.protocol === 0 && e.port !== 0) throw new DatapathInputError(`${at}.port`, e.port, 'a port needs a protocol (protocol 0 means any, which has no ports)');
    const proxyPort = e.proxyPort ?? 0;
    if (!Number.isInteger(proxyPort) || proxyPort < 0 || proxyPort > 65535) throw new DatapathInputError(`${at}.proxyPort`, e.proxyPort, 'must be 0..65535');
    for (let port = e.port; port <= end; port++) {
      const key: PolicyKey = { direction: e.direction, identity: e.identity, protocol: e.protocol, port };
      const id = policyKeyId(key);
      const prev = out.get(id);
      // Deny wins over allow for the same key, as in the datapath; of two allows the proxy
      // redirect wins (a port of an L4 range that an L7 rule covers stays redirected).
      if (!prev || (e.deny && !prev.value.deny) || (!e.deny && !prev.value.deny && proxyPort > prev.value.proxyPort)) {
        out.set(id, { key, value: { deny: e.deny, proxyPort: e.deny ? 0 : proxyPort } });
      }
      if (out.size > POLICY_MAP_MAX_ENTRIES) throw new DatapathInputError(`${at}.endPort`, e.endPort, `the policy expands to more than ${POLICY_MAP_MAX_ENTRIES} map entries`);
    }
  });
  return out;
}

/** Stable string id of a policy key (for diffs). */
export function policyKeyId(k: PolicyKey): string {
  return `${k.direction}/${k.identity}/${k.protocol}/${k.port}`;
}

/** endpoints map value: a local endpoint reachable on this node. */
export interface EndpointInfo { endpointId: number; ifindex: number; identity: number }

/** endpoints key codec (an endpoint's address). */
export const endpointKey: Codec<{ family: 4 | 6; bytes: Buffer }> = {
  size: 20,
  encode(k) {
    const b = Buffer.alloc(20);
    b[0] = k.family;
    addr16(k.family, k.bytes).copy(b, 4);
    return b;
  },
  decode(b) {
    const f = family(b[0]);
    return { family: f, bytes: Buffer.from(b.subarray(4, f === 4 ? 8 : 20)) };
  },
};

/** endpoints value codec. */
export const endpointValue: Codec<EndpointInfo> = {
  size: 16,
  encode(v) {
    const b = Buffer.alloc(16);
    b.writeUInt32LE(v.ifindex >>> 0, 0);
    b.writeUInt16LE(v.endpointId, 4);
    b.writeUInt32LE(v.identity >>> 0, 8);
    return b;
  },
  decode(b) {
    return { ifindex: b.readUInt32LE(0), endpointId: b.readUInt16LE(4), identity: b.readUInt32LE(8) };
  },
};

/** metrics key: reason 0 = forwarded, else a drop reason; direction of the endpoint. */
export interface MetricsKey { reason: number; direction: Direction }

/** metrics key codec: the per-CPU array index (reason << 2) | dir, dir 1 ingress / 2 egress. */
export const metricsKey: Codec<MetricsKey> = {
  size: 4,
  encode(k) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(((k.reason & 0xff) << 2) | (k.direction === 'egress' ? 2 : 1), 0);
    return b;
  },
  decode(b) {
    const i = b.readUInt32LE(0);
    return { reason: i >>> 2, direction: (i & 3) === 2 ? 'egress' : 'ingress' };
  },
};

/** metrics value (one CPU's slot). */
export interface MetricsValue { packets: bigint; bytes: bigint }

/** metrics value codec. */
export const metricsValue: Codec<MetricsValue> = {
  size: 16,
  encode(v) {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(v.packets, 0);
    b.writeBigUInt64LE(v.bytes, 8);
    return b;
  },
  decode(b) {
    return { packets: b.readBigUInt64LE(0), bytes: b.readBigUInt64LE(8) };
  },
};

/** u32 codec (array map keys). */
export const u32: Codec<number> = {
  size: 4,
  encode(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; },
  decode(b) { return b.readUInt32LE(0); },
};

/** u64 codec. */
export const u64: Codec<bigint> = {
  size: 8,
  encode(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; },
  decode(b) { return b.readBigUInt64LE(0); },
};

/** Endpoint constants in the object's .rodata (struct ep_config in datapath.c). */
export interface EndpointConfig { endpointId: number; identity: number; ifindex: number; buildId: number }

/** .rodata codec: struct ep_config { u32 endpoint_id, identity, ifindex, build_id }. */
export const endpointConfig: Codec<EndpointConfig> = {
  size: 16,
  encode(c) {
    const b = Buffer.alloc(16);
    b.writeUInt32LE(c.endpointId, 0);
    b.writeUInt32LE(c.identity >>> 0, 4);
    b.writeUInt32LE(c.ifindex >>> 0, 8);
    b.writeUInt32LE(c.buildId >>> 0, 12);
    return b;
  },
  decode(b) {
    return { endpointId: b.readUInt32LE(0), identity: b.readUInt32LE(4), ifindex: b.readUInt32LE(8), buildId: b.readUInt32LE(12) };
  },
};

/** ep_flags value bits: enforcement per direction, and whether a direction has deny entries. */
export const EndpointFlags = { ingressEnforced: 1, egressEnforced: 2, ingressDeny: 4, egressDeny: 8, debug: 16 } as const;
