// The L7 proxy readiness seam: the shared `proxy_ready` map (bpf/maps.h). A policy verdict
// that carries a proxy port redirects only while the (endpoint, proxy port) entry exists;
// otherwise the datapath drops with DropReason.noConfig (fail closed).
import { DatapathInputError } from './errors.js';
import type { Codec } from './map-codecs.js';

/** Key of proxy_ready: the endpoint and the proxy listener port its policy redirects to. */
export interface ProxyReadyKey { endpointId: number; proxyPort: number }

/**
 * Where the datapath redirects traffic for a ready proxy: the device (bpf_redirect, with
 * skb->mark = 0x0200 | proxyPort << 16), or ifindex 0 for the node's stack (egress only;
 * an ingress redirect without a device drops, fail closed).
 */
export interface ProxyReadyValue { ifindex: number }

function checkU16(field: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0xffff) throw new DatapathInputError(field, v, `must be an integer ${min}..65535`);
}

/** struct proxy_ready_key: u16 endpoint_id, u16 proxy_port. */
export const proxyReadyKey: Codec<ProxyReadyKey> = {
  size: 4,
  encode(k) {
    checkU16('proxyReady.endpointId', k.endpointId, 1);
    checkU16('proxyReady.proxyPort', k.proxyPort, 1);
    const b = Buffer.alloc(4);
    b.writeUInt16LE(k.endpointId, 0);
    b.writeUInt16LE(k.proxyPort, 2);
    return b;
  },
  decode(b) {
    return { endpointId: b.readUInt16LE(0), proxyPort: b.readUInt16LE(2) };
  },
};

/** struct proxy_ready_value: u32 ifindex. */
export const proxyReadyValue: Codec<ProxyReadyValue> = {
  size: 4,
  encode(v) {
    if (!Number.isInteger(v.ifindex) || v.ifindex < 0 || v.ifindex > 0x7fffffff) throw new DatapathInputError('proxyReady.ifindex', v.ifindex, 'must be an interface index (0 = the node\'s stack)');
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v.ifindex, 0);
    return b;
  },
  decode(b) {
    return { ifindex: b.readUInt32LE(0) };
  },
};

/** skb->mark magic of a packet the datapath redirects to the L7 proxy (Cilium's MARK_MAGIC_TO_PROXY, bits 8-11). */
export const MARK_MAGIC_TO_PROXY = 0x0200;
/** skb->mark magic of the L7 proxy's upstream connections (Cilium's MARK_MAGIC_PROXY_INGRESS, bits 8-11). */
export const MARK_MAGIC_FROM_PROXY = 0x0a00;
/** The bits of a mark that hold its magic. */
export const MARK_MAGIC_MASK = 0x0f00;

/** The mark of packets redirected to proxy listener `proxyPort`: the magic, the port in bits 16-31 (for the TPROXY rule). */
export function toProxyMark(proxyPort: number): number {
  checkU16('proxyPort', proxyPort, 1);
  return (MARK_MAGIC_TO_PROXY | (proxyPort << 16)) >>> 0;
}

/**
 * The SO_MARK of the proxy's upstream connection for a request from `identity`: the magic
 * and the identity in Cilium's layout (low 16 bits in bits 16-31, bits 16-23 in bits 0-7).
 * The destination's to-container takes the source identity from it and applies its L3/L4
 * policy (an L7 redirect verdict then means "already decided by the proxy": delivered).
 */
export function fromProxyMark(identity: number): number {
  if (!Number.isInteger(identity) || identity < 1 || identity > 0xffffff) throw new DatapathInputError('identity', identity, 'must be an identity 1..16777215');
  return (((identity & 0xffff) << 16) | ((identity >>> 16) & 0xff) | MARK_MAGIC_FROM_PROXY) >>> 0;
}
