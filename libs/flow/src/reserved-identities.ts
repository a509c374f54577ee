// Labels of the reserved identities (docs/CONTRACTS.md), used when no identity getter knows them.

const RESERVED: Record<number, string> = {
  1: 'host',
  2: 'world',
  3: 'unmanaged',
  4: 'health',
  5: 'init',
  6: 'remote-node',
  7: 'kube-apiserver',
  8: 'ingress',
  9: 'world-ipv4',
  10: 'world-ipv6',
};

/** The name of a reserved identity (`host`, `world`, ...), or undefined for other ids. */
export function reservedIdentityName(id: number): string | undefined {
  return RESERVED[id];
}

/** `reserved:<name>` labels of a reserved identity, or undefined for other ids. */
export function reservedIdentityLabels(id: number): string[] | undefined {
  const name = RESERVED[id];
  return name === undefined ? undefined : [`reserved:${name}`];
}
