// Tunnel mode settings shared by the datapath programs: the `tunnel` map (bpf/maps.h).
import { DatapathInputError } from './errors.js';
import type { Codec } from './map-codecs.js';
import { formatIp, parseIp } from './ip-address.js';

/**
 * VXLAN tunnel mode: the cilium_vxlan device's ifindex (in the endpoints' namespace) and
 * this node's underlay addresses (at least one). A remote node is reached over the family
 * of the host address its pods' ipcache entries carry (ipcacheUpsert's hostIp).
 */
export interface TunnelConfig { ifindex: number; localIpv4?: string; localIpv6?: string }

/** struct tunnel_config: ifindex (u32, 0 = native routing), local_ipv4[4], local_ipv6[16] (as on the wire, zero = none). */
export const tunnelConfig: Codec<TunnelConfig | undefined> = {
  size: 24,
  encode(c) {
    const b = Buffer.alloc(24);
    if (!c) return b;
    if (!Number.isInteger(c.ifindex) || c.ifindex <= 0 || c.ifindex > 0xffffffff) throw new DatapathInputError('tunnel.ifindex', c.ifindex, 'must be the VXLAN device ifindex (1..2^32-1)');
    if (c.localIpv4 === undefined && c.localIpv6 === undefined) throw new DatapathInputError('tunnel.localIpv4', c.localIpv4, 'give this node\'s underlay address: localIpv4, localIpv6 or both');
    b.writeUInt32LE(c.ifindex, 0);
    if (c.localIpv4 !== undefined) {
      const ip = parseIp(c.localIpv4, 'tunnel.localIpv4');
      if (ip.family !== 4) throw new DatapathInputError('tunnel.localIpv4', c.localIpv4, 'must be an IPv4 address (use localIpv6 for an IPv6 underlay)');
      ip.bytes.copy(b, 4, 0, 4);
    }
    if (c.localIpv6 !== undefined) {
      const ip = parseIp(c.localIpv6, 'tunnel.localIpv6');
      if (ip.family !== 6) throw new DatapathInputError('tunnel.localIpv6', c.localIpv6, 'must be an IPv6 address');
      ip.bytes.copy(b, 8, 0, 16);
    }
    return b;
  },
  decode(b) {
    const ifindex = b.readUInt32LE(0);
    if (ifindex === 0) return undefined;
    const c: TunnelConfig = { ifindex };
    if (b.readUInt32LE(4) !== 0) c.localIpv4 = formatIp(4, b.subarray(4, 8));
    if (!b.subarray(8, 24).equals(Buffer.alloc(16))) c.localIpv6 = formatIp(6, b.subarray(8, 24));
    return c;
  },
};
