/**
 * Every identity this agent knows: the reserved ones and the cluster identities
 * learnt from the kvstore (or allocated locally). Policy computation reads it;
 * changes are announced so that endpoints can be regenerated.
 */

/** Reserved identities and their labels, with Cilium's numeric values. */
export const RESERVED_IDENTITIES: ReadonlyArray<[number, string]> = [
  [1, 'host'],
  [2, 'world'],
  [3, 'unmanaged'],
  [4, 'health'],
  [5, 'init'],
  [6, 'remote-node'],
  [7, 'kube-apiserver'],
  [8, 'ingress'],
  [9, 'world-ipv4'],
  [10, 'world-ipv6'],
];

/** identity -> labels, with change notification. */
export class IdentityCache {
  private readonly ids = new Map<number, string[]>();
  private readonly listeners = new Set<(id: number, labels: string[] | undefined) => void>();

  constructor() {
    for (const [id, name] of RESERVED_IDENTITIES) this.ids.set(id, [`reserved:${name}`]);
  }

  /** Adds or replaces an identity; returns true when it changed anything. */
  upsert(id: number, labels: string[]): boolean {
    const sorted = [...labels].sort();
    const cur = this.ids.get(id);
    if (cur && cur.length === sorted.length && cur.every((l, i) => l === sorted[i])) return false;
    this.ids.set(id, sorted);
    for (const l of this.listeners) l(id, sorted);
    return true;
  }

  /** Removes a cluster identity (reserved ones stay). */
  delete(id: number): boolean {
    if (id < 256 || !this.ids.delete(id)) return false;
    for (const l of this.listeners) l(id, undefined);
    return true;
  }

  /** Labels of an identity. */
  get(id: number): string[] | undefined {
    return this.ids.get(id);
  }

  /** Whether an id is reserved. */
  static isReserved(id: number): boolean {
    return id > 0 && id < 256;
  }

  /** Every identity, in id order. */
  all(): Array<[number, string[]]> {
    return [...this.ids.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Subscribes to changes; returns an unsubscribe function. */
  onChange(fn: (id: number, labels: string[] | undefined) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
