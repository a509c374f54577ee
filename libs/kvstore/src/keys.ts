// The kvstore key layout (docs/CONTRACTS.md "kvstore layout"): every key the system
// reads or writes is built here, so the layout lives in exactly one place.

/** Default key prefix of every cilium-ts key in etcd. */
export const DefaultKvStorePrefix = 'cilium';

/** Last identity number allocated cluster-wide (16 bits, as in Cilium's cluster mesh). */
export const MaxClusterIdentity = 65535;

/** Splits a canonical label string back into its labels. */
export function splitCanonicalLabels(canonical: string): string[] {
  return canonical === '' ? [] : canonical.split(';');
}

/** Builds the keys of one kvstore prefix. */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  /** `<p>/state/identities/v1/id/` */
  identityIdPrefix(): string {
    return `${this.prefix}/state/identities/v1/id/`;
  }
  /** `<p>/state/identities/v1/id/<id>` */
  identityId(id: number): string {
    return `${this.identityIdPrefix()}${id}`;
  }
  /** `<p>/state/identities/v1/value/` */
  identityValuePrefix(): string {
    return `${this.prefix}/state/identities/v1/value/`;
  }
  /** `<p>/state/identities/v1/value/<canonical>/` */
  identityValueLabelsPrefix(canonical: string): string {
    return `${this.identityValuePrefix()}${canonical}/`;
  }
  /** `<p>/state/identities/v1/value/<canonical>/<node>` */
  identityValue(canonical: string, node: string): string {
    return `${this.identityValueLabelsPrefix(canonical)}${node}`;
  }
  /** Splits a value key into its canonical labels and node (the node is the last segment). */
  parseIdentityValue(key: string): { labels: string; node: string } | undefined {
    const base = this.identityValuePrefix();
    if (!key.startsWith(base)) return undefined;
    const rest = key.slice(base.length);
    const slash = rest.lastIndexOf('/');
    if (slash < 0) return undefined;
    return { labels: rest.slice(0, slash), node: rest.slice(slash + 1) };
  }
  /** `<p>/state/nodes/v1/` or `<p>/state/nodes/v1/<cluster>/` */
  nodesPrefix(cluster?: string): string {
    return cluster === undefined ? `${this.prefix}/state/nodes/v1/` : `${this.prefix}/state/nodes/v1/${cluster}/`;
  }
  /** `<p>/state/nodes/v1/<cluster>/<node>` */
  node(cluster: string, node: string): string {
    return `${this.nodesPrefix(cluster)}${node}`;
  }
  /** `<p>/state/ip/v1/<cluster>/` */
  ipPrefix(cluster: string): string {
    return `${this.prefix}/state/ip/v1/${cluster}/`;
  }
  /** `<p>/state/ip/v1/<cluster>/<ip>` */
  ip(cluster: string, ip: string): string {
    return `${this.ipPrefix(cluster)}${ip}`;
  }
  /** `<p>/state/services/v1/<cluster>/` */
  servicesPrefix(cluster: string): string {
    return `${this.prefix}/state/services/v1/${cluster}/`;
  }
  /** `<p>/state/services/v1/<cluster>/<id>`: one load-balancing service (JSON). */
  service(cluster: string, id: number): string {
    return `${this.servicesPrefix(cluster)}${id}`;
  }
  /** `<p>/state/policies/v1/<cluster>/` */
  policiesPrefix(cluster: string): string {
    return `${this.prefix}/state/policies/v1/${cluster}/`;
  }
  /** `<p>/state/policies/v1/<cluster>/rules`: the cluster-wide policy rules and their revision (JSON). */
  policyRules(cluster: string): string {
    return `${this.policiesPrefix(cluster)}rules`;
  }
  /** `<p>/state/ipam/v1/nodes/` */
  ipamNodesPrefix(): string {
    return `${this.prefix}/state/ipam/v1/nodes/`;
  }
  /** `<p>/state/ipam/v1/nodes/<node>`: the pod CIDR the operator assigned to a node. */
  ipamNode(node: string): string {
    return `${this.ipamNodesPrefix()}${node}`;
  }
  /** `<p>/state/ipam/v1/nodes-ipv6/` */
  ipamNodesV6Prefix(): string {
    return `${this.prefix}/state/ipam/v1/nodes-ipv6/`;
  }
  /** `<p>/state/ipam/v1/nodes-ipv6/<node>`: the IPv6 pod CIDR the operator assigned to a node. */
  ipamNodeV6(node: string): string {
    return `${this.ipamNodesV6Prefix()}${node}`;
  }
  /** `<p>/.heartbeat`: RFC3339 time written by the operator. */
  heartbeat(): string {
    return `${this.prefix}/.heartbeat`;
  }
  /** `<p>/operator/leader`: the operator's leader election. */
  operatorElection(): string {
    return `${this.prefix}/operator/leader`;
  }
}
