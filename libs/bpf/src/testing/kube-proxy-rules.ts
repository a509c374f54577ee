// kube-proxy's iptables mode as a baseline for the service benchmark: the nat table that
// kube-proxy (pkg/proxy/iptables/proxier.go) writes with iptables-restore for ClusterIP
// services: KUBE-SERVICES (one rule per service port, jumped to from PREROUTING and
// OUTPUT), one KUBE-SVC-<hash> chain per service port (masquerade mark for traffic from
// outside the cluster CIDR, then the endpoints chosen with `-m statistic --mode random
// --probability 1/(n-i)`), one KUBE-SEP-<hash> chain per endpoint (DNAT), KUBE-MARK-MASQ
// and KUBE-POSTROUTING. Chain names are kube-proxy's: "KUBE-SVC-" / "KUBE-SEP-" and the
// first 16 characters of the base32 SHA-256 of the service port name and protocol (and
// endpoint). For namespaces only: never load this into the machine's own namespace.
import { createHash } from 'node:crypto';

/** One ClusterIP service port as kube-proxy sees it. */
export interface KubeProxyService {
  namespace: string;
  name: string;
  /** The port's name (may be empty). */
  portName: string;
  clusterIp: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** Endpoints as ip:port. */
  endpoints: string[];
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (as Go's base32.StdEncoding, padding left out: only a prefix is used). */
function base32(buf: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

const hash16 = (s: string): string => base32(createHash('sha256').update(s).digest()).slice(0, 16);

/** kube-proxy's ServicePortName.String(): `namespace/name:port` (`namespace/name` without a port name). */
export function servicePortName(s: Pick<KubeProxyService, 'namespace' | 'name' | 'portName'>): string {
  return s.portName ? `${s.namespace}/${s.name}:${s.portName}` : `${s.namespace}/${s.name}`;
}

/** The KUBE-SVC-* chain of a service port, as kube-proxy names it. */
export function serviceChainName(s: Pick<KubeProxyService, 'namespace' | 'name' | 'portName' | 'protocol'>): string {
  return `KUBE-SVC-${hash16(servicePortName(s) + s.protocol)}`;
}

/** The KUBE-SEP-* chain of one endpoint of a service port. */
export function endpointChainName(s: Pick<KubeProxyService, 'namespace' | 'name' | 'portName' | 'protocol'>, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName(s) + s.protocol + endpoint)}`;
}

/**
 * The `iptables-restore` input of kube-proxy's nat table for these services (clusterCidr:
 * kube-proxy's --cluster-cidr; traffic from outside it is marked for masquerading).
 */
export function kubeProxyNatRules(services: readonly KubeProxyService[], clusterCidr: string): string {
  const chains: string[] = [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  ];
  const svcRules: string[] = [];
  for (const s of services) {
    const spn = servicePortName(s);
    const svcChain = serviceChainName(s);
    chains.push(`:${svcChain} - [0:0]`);
    svcRules.push(`-A KUBE-SERVICES -d ${s.clusterIp}/32 -p ${s.protocol} -m comment --comment "${spn} cluster IP" -m ${s.protocol} --dport ${s.port} -j ${svcChain}`);
    rules.push(`-A ${svcChain} ! -s ${clusterCidr} -d ${s.clusterIp}/32 -p ${s.protocol} -m comment --comment "${spn} cluster IP" -m ${s.protocol} --dport ${s.port} -j KUBE-MARK-MASQ`);
    s.endpoints.forEach((ep, i) => {
      const sep = endpointChainName(s, ep);
      const n = s.endpoints.length;
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(11)}` : '';
      chains.push(`:${sep} - [0:0]`);
      rules.push(`-A ${svcChain} -m comment --comment "${spn} -> ${ep}"${stat} -j ${sep}`);
      rules.push(`-A ${sep} -s ${ep.slice(0, ep.lastIndexOf(':'))}/32 -m comment --comment "${spn}" -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p ${s.protocol} -m comment --comment "${spn}" -m ${s.protocol} -j DNAT --to-destination ${ep}`);
    });
  }
  svcRules.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  return ['*nat', ...chains, ...rules, ...svcRules, 'COMMIT', ''].join('\n');
}
