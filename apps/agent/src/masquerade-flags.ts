/**
 * The agent's masquerading flags, as Cilium's: --enable-ipv4-masquerade with
 * --ipv4-native-routing-cidr (the range never masqueraded); --enable-bpf-masquerade is
 * refused (BPF SNAT of pod traffic is not built yet). A bad value stops the agent at start
 * with the flag named.
 */
import { parsePrefix } from '@cilium-ts/netaddr';

/** Flag definitions, spread into agentFlags. */
export const masqueradeFlags = {
  enableIpv4Masquerade: {
    type: 'boolean',
    default: false,
    description: 'Masquerade IPv4 pod traffic that leaves the cluster (to addresses outside --ipv4-native-routing-cidr, through the node device) with the node address: iptables MASQUERADE in the node namespace',
  },
  enableBpfMasquerade: { type: 'boolean', default: false, description: 'Masquerade with BPF instead of iptables (not built yet: refused)' },
  ipv4NativeRoutingCidr: { type: 'string', default: '', description: 'IPv4 range routed without masquerading (the cluster\'s pod CIDRs); needed by --enable-ipv4-masquerade' },
} as const;

/** A masquerading flag with a bad value. */
export class MasqueradeFlagError extends Error {
  override readonly name = 'MasqueradeFlagError';
}

/** Masquerading settings: the range never masqueraded and the device (undefined: the one holding the node address). */
export interface MasqueradeSettings { nativeRoutingCidr: string; device?: string }

/** The checked masquerading settings (undefined: off); throws MasqueradeFlagError naming the flag. */
export function parseMasqueradeFlags(f: { enableIpv4Masquerade?: boolean; enableBpfMasquerade?: boolean; ipv4NativeRoutingCidr?: string; nodeIp?: string }): MasqueradeSettings | undefined {
  if (f.enableBpfMasquerade) throw new MasqueradeFlagError('--enable-bpf-masquerade: BPF masquerading is not built yet; use --enable-ipv4-masquerade (iptables MASQUERADE in the node namespace)');
  const cidr = f.ipv4NativeRoutingCidr ?? '';
  if (cidr) {
    const p = parsePrefix(cidr);
    if (typeof p === 'string') throw new MasqueradeFlagError(`--ipv4-native-routing-cidr: ${p}`);
    if (p.family !== 4) throw new MasqueradeFlagError(`--ipv4-native-routing-cidr: "${cidr}" is not an IPv4 CIDR`);
  }
  if (!f.enableIpv4Masquerade) return undefined;
  if (!cidr) throw new MasqueradeFlagError('--enable-ipv4-masquerade: needs --ipv4-native-routing-cidr (the range never masqueraded, e.g. the cluster\'s pod CIDRs)');
  if (!f.nodeIp) throw new MasqueradeFlagError('--enable-ipv4-masquerade: needs --node-ip (the device holding it is where pod traffic leaves)');
  return { nativeRoutingCidr: cidr };
}
