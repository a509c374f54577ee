// Codecs of the NodePort maps (bpf/nodeport.h): nodeport_config, nodeport_ct4 and
// nodeport_rev4. Addresses and ports as on the wire (network order).
import { DatapathInputError } from './errors.js';
import { formatIp, parseIp } from './ip-address.js';
import type { Codec } from './map-codecs.js';

/**
 * NodePort modes, as Cilium's --bpf-lb-mode (snat: replies pass the entry node; dsr: the
 * backend's node answers the client directly, the frontend carried in an IPv4 option;
 * hybrid: dsr for TCP, snat for UDP). The index is np_config.mode.
 */
export const NodePortModes = ['snat', 'dsr', 'hybrid'] as const;
/** A NodePort mode. */
export type NodePortMode = (typeof NodePortModes)[number];

/** The node's NodePort settings: its IPv4 address (the frontend of 0.0.0.0:port, and the SNAT source) and mode. */
export interface NodePortConfig { nodeIpv4: string; mode: NodePortMode }

/** struct np_config: node_ipv4 (as on the wire, 0 = NodePort off), mode (u32). */
export const nodePortConfigCodec: Codec<NodePortConfig | undefined> = {
  size: 8,
  encode(c) {
    const b = Buffer.alloc(8);
    if (!c) return b;
    const ip = parseIp(c.nodeIpv4, 'nodePort.nodeIpv4');
    if (ip.family !== 4) throw new DatapathInputError('nodePort.nodeIpv4', c.nodeIpv4, 'must be the node\'s IPv4 address (NodePort is IPv4 only so far)');
    if (ip.bytes.readUInt32BE(0) === 0) throw new DatapathInputError('nodePort.nodeIpv4', c.nodeIpv4, 'must be the node\'s own address, not 0.0.0.0');
    const mode = NodePortModes.indexOf(c.mode);
    if (mode < 0) throw new DatapathInputError('nodePort.mode', c.mode, `is not one of ${NodePortModes.join(', ')}`);
    ip.bytes.copy(b, 0, 0, 4);
    b.writeUInt32LE(mode, 4);
    return b;
  },
  decode(b) {
    if (b.readUInt32BE(0) === 0) return undefined;
    return { nodeIpv4: formatIp(4, b.subarray(0, 4)), mode: NodePortModes[b.readUInt32LE(4)] ?? 'snat' };
  },
};

/** A connection's tuple (struct np4_tuple): client -> frontend, or a reply as the backend sends it. */
export interface NodePortTuple { saddr: string; daddr: string; sport: number; dport: number; protocol: number }

/** struct np4_tuple (16 bytes). */
export const nodePortTupleCodec: Codec<NodePortTuple> = {
  size: 16,
  encode(t) {
    const b = Buffer.alloc(16);
    parseIp(t.saddr, 'tuple.saddr').bytes.copy(b, 0, 0, 4);
    parseIp(t.daddr, 'tuple.daddr').bytes.copy(b, 4, 0, 4);
    b.writeUInt16BE(t.sport, 8);
    b.writeUInt16BE(t.dport, 10);
    b.writeUInt8(t.protocol, 12);
    return b;
  },
  decode(b) {
    return { saddr: formatIp(4, b.subarray(0, 4)), daddr: formatIp(4, b.subarray(4, 8)), sport: b.readUInt16BE(8), dport: b.readUInt16BE(10), protocol: b.readUInt8(12) };
  },
};

/** NP_F_SNAT: the backend is on another node; the connection left with the node's address. */
export const NodePortFlagSnat = 1;
/** NP_F_DSR: the backend is on another node and answers the client itself (ct), or this node rewrites its backend's replies for a DSR connection (rev). */
export const NodePortFlagDsr = 2;

const flagsOf = (v: { snat: boolean; dsr: boolean }): number => (v.snat ? NodePortFlagSnat : 0) | (v.dsr ? NodePortFlagDsr : 0);

/** struct np4_ct_value: the backend a connection keeps, its SNAT port (0: none), service and how it left (snat, dsr, or neither: a local backend). */
export interface NodePortCtValue { backendId: number; snatPort: number; revNatIndex: number; snat: boolean; dsr: boolean }

/** struct np4_ct_value (12 bytes). */
export const nodePortCtValueCodec: Codec<NodePortCtValue> = {
  size: 12,
  encode(v) {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(v.backendId, 0);
    b.writeUInt16BE(v.snatPort, 4);
    b.writeUInt16LE(v.revNatIndex, 6);
    b.writeUInt8(flagsOf(v), 8);
    return b;
  },
  decode(b) {
    return { backendId: b.readUInt32LE(0), snatPort: b.readUInt16BE(4), revNatIndex: b.readUInt16LE(6), snat: (b.readUInt8(8) & NodePortFlagSnat) !== 0, dsr: (b.readUInt8(8) & NodePortFlagDsr) !== 0 };
  },
};

/** struct np4_rev_value: what a reply's addresses become (the client, the frontend); dsr: recorded from a DSR option (this node is the backend's). */
export interface NodePortRevValue { clientAddr: string; frontendAddr: string; clientPort: number; frontendPort: number; revNatIndex: number; snat: boolean; dsr: boolean }

/** struct np4_rev_value (16 bytes). */
export const nodePortRevValueCodec: Codec<NodePortRevValue> = {
  size: 16,
  encode(v) {
    const b = Buffer.alloc(16);
    parseIp(v.clientAddr, 'rev.clientAddr').bytes.copy(b, 0, 0, 4);
    parseIp(v.frontendAddr, 'rev.frontendAddr').bytes.copy(b, 4, 0, 4);
    b.writeUInt16BE(v.clientPort, 8);
    b.writeUInt16BE(v.frontendPort, 10);
    b.writeUInt16LE(v.revNatIndex, 12);
    b.writeUInt8(flagsOf(v), 14);
    return b;
  },
  decode(b) {
    return {
      clientAddr: formatIp(4, b.subarray(0, 4)),
      frontendAddr: formatIp(4, b.subarray(4, 8)),
      clientPort: b.readUInt16BE(8),
      frontendPort: b.readUInt16BE(10),
      revNatIndex: b.readUInt16LE(12),
      snat: (b.readUInt8(14) & NodePortFlagSnat) !== 0,
      dsr: (b.readUInt8(14) & NodePortFlagDsr) !== 0,
    };
  },
};
