// Tunnel mode settings shared by the datapath programs: the `tunnel` map (bpf/maps.h).
import { DatapathInputError } from './errors.js';
import type { Codec } from './map-codecs.js';
import { formatIp, parseIp } from './ip-address.js';

/** VXLAN tunnel mode: the cilium_vxlan device's ifindex (in the endpoints' namespace) and this node's underlay IPv4 address. */
export interface TunnelConfig { ifindex: number; localIpv4: string }

/** struct tunnel_config: ifindex (u32, 0 = native routing), local_ipv4 (as on the wire). */
export const tunnelConfig: Codec<TunnelConfig | undefined> = {
  size: 8,
  encode(c) {
    const b = Buffer.alloc(8);
    if (!c) return b;
    if (!Number.isInteger(c.ifindex) || c.ifindex <= 0 || c.ifindex > 0xffffffff) throw new DatapathInputError('tunnel.ifindex', c.ifindex, 'must be the VXLAN device ifindex (1..2^32-1)');
    const ip = parseIp(c.localIpv4, 'tunnel.localIpv4');
    if (ip.family !== 4) throw new DatapathInputError('tunnel.localIpv4', c.localIpv4, 'the underlay must be IPv4');
    b.writeUInt32LE(c.ifindex, 0);
    ip.bytes.copy(b, 4, 0, 4);
    return b;
  },
  decode(b) {
    const ifindex = b.readUInt32LE(0);
    return ifindex === 0 ? undefined : { ifindex, localIpv4: formatIp(4, b.subarray(4, 8)) };
  },
};
