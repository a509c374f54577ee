// Byte layouts of the load-balancing maps, mirroring libs/bpf/bpf/lb.h (addresses and
// ports in network order, other integers little-endian host order). One codec set per
// family: IPv4 maps carry 4-byte addresses, IPv6 maps 16-byte ones.
import { formatIp, parseIp } from './ip-address.js';
import { u32, type Codec } from './map-codecs.js';

/** IP protocol numbers of frontends. */
export const LbProtocolNumbers: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };
/** Protocol names by number. */
export const LbProtocolNames: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
/** Backend state numbers in the backend map's flags. */
export const LbBackendStates = ['active', 'terminating', 'quarantined', 'maintenance'] as const;

/** A service map key: frontend and slot (0 = the service itself). */
export interface LbServiceKey { ip: string; port: number; protocol: number; slot: number }
/** A service map value: slot 0 holds count and revNat, slots 1..count a backend id. */
export interface LbServiceValue {
  /** Slots 1..count: the backend id; slot 0: the session affinity timeout in seconds (0 = none). */
  backendId: number;
  count: number;
  revNat: number;
  /** Slot 0: the service type (index of ClusterIP, NodePort, ExternalIPs, LoadBalancer). */
  flags: number;
  /** Slot 0: LB_F2_LOCAL (1) for traffic policy Local (bpf/lb-local.h); absent = 0. */
  flags2?: number;
}
/** flags2 bit: traffic policy Local (only this node's backends, per packet). */
export const LB_F2_LOCAL = 1;
/** A backend map value. */
export interface LbBackendValue { ip: string; port: number; protocol: number; state: number }
/** A reverse-NAT value: the service address of a rev-NAT id. */
export interface LbRevNatValue { ip: string; port: number }

/** The codecs of one family's LB maps. */
export interface LbCodecs {
  serviceKey: Codec<LbServiceKey>;
  serviceValue: Codec<LbServiceValue>;
  backendId: Codec<number>;
  backendValue: Codec<LbBackendValue>;
  revNatKey: Codec<number>;
  revNatValue: Codec<LbRevNatValue>;
}

function addr(family: 4 | 6, ip: string, field: string): Buffer {
  const p = parseIp(ip, field);
  if (p.family !== family) throw new TypeError(`${field}: ${ip} is not an IPv${family} address`);
  return p.bytes;
}

/** The codecs of the IPv4 (`lb4_*`) or IPv6 (`lb6_*`) maps. */
export function lbCodecs(family: 4 | 6): LbCodecs {
  const a = family === 4 ? 4 : 16;
  return {
    serviceKey: {
      size: a + 8,
      encode(k) {
        const b = Buffer.alloc(a + 8);
        addr(family, k.ip, 'frontend').copy(b, 0);
        b.writeUInt16BE(k.port, a);
        b.writeUInt16LE(k.slot, a + 2);
        b[a + 4] = k.protocol;
        return b;
      },
      decode: (b) => ({ ip: formatIp(family, b.subarray(0, a)), port: b.readUInt16BE(a), slot: b.readUInt16LE(a + 2), protocol: b[a + 4]! }),
    },
    serviceValue: {
      size: 12,
      encode(v) {
        const b = Buffer.alloc(12);
        b.writeUInt32LE(v.backendId, 0);
        b.writeUInt16LE(v.count, 4);
        b.writeUInt16LE(v.revNat, 6);
        b[8] = v.flags;
        b[9] = v.flags2 ?? 0;
        return b;
      },
      decode: (b) => ({ backendId: b.readUInt32LE(0), count: b.readUInt16LE(4), revNat: b.readUInt16LE(6), flags: b[8]!, flags2: b[9]! }),
    },
    backendId: u32,
    backendValue: {
      size: a + 4,
      encode(v) {
        const b = Buffer.alloc(a + 4);
        addr(family, v.ip, 'backend').copy(b, 0);
        b.writeUInt16BE(v.port, a);
        b[a + 2] = v.protocol;
        b[a + 3] = v.state;
        return b;
      },
      decode: (b) => ({ ip: formatIp(family, b.subarray(0, a)), port: b.readUInt16BE(a), protocol: b[a + 2]!, state: b[a + 3]! }),
    },
    revNatKey: {
      size: 2,
      encode: (id) => {
        const b = Buffer.alloc(2);
        b.writeUInt16LE(id, 0);
        return b;
      },
      decode: (b) => b.readUInt16LE(0),
    },
    revNatValue: {
      size: a + 4,
      encode(v) {
        const b = Buffer.alloc(a + 4);
        addr(family, v.ip, 'frontend').copy(b, 0);
        b.writeUInt16BE(v.port, a);
        return b;
      },
      decode: (b) => ({ ip: formatIp(family, b.subarray(0, a)), port: b.readUInt16BE(a) }),
    },
  };
}

/** Backend selection algorithms (lb_config.algorithm, Cilium's --bpf-lb-algorithm). */
export const LbAlgorithms = ['random', 'maglev'] as const;
/** A backend selection algorithm. */
export type LbAlgorithm = (typeof LbAlgorithms)[number];

/** struct lb_config in bpf/lb-select.h (slot 0 of lb_config). */
export interface LbConfigValue { algorithm: LbAlgorithm; maglevTableSize: number }

/** Codec of struct lb_config { u32 algorithm; u32 maglev_table_size; }. */
export const lbConfigCodec: Codec<LbConfigValue> = {
  size: 8,
  encode(v) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(LbAlgorithms.indexOf(v.algorithm), 0);
    b.writeUInt32LE(v.maglevTableSize, 4);
    return b;
  },
  decode(b) {
    return { algorithm: LbAlgorithms[b.readUInt32LE(0)] ?? 'random', maglevTableSize: b.readUInt32LE(4) };
  },
};
