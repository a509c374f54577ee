// The operator's cluster-pool assignments, `<p>/state/ipam/v1/nodes/<node>` -> CIDR, as
// agents read them: started without a pod CIDR, an agent registers and waits here.
import type { KvStore } from './kvstore.js';
import type { WatchCloser } from './prefix-watch.js';

/** No pod CIDR was assigned to a node in time. */
export class PodCidrNotAssignedError extends Error {
  override readonly name = 'PodCidrNotAssignedError';
  constructor(
    readonly node: string,
    readonly timeoutMs: number,
  ) {
    super(
      `ipam: no pod CIDR was assigned to node ${node} within ${timeoutMs} ms; ` +
        'is cilium-operator running against the same kvstore and prefix, and is the node registered? ' +
        'Alternatively start the agent with an explicit pod CIDR',
    );
  }
}

/** Reads and watches the pod CIDRs the operator assigned. */
export class PodCidrAssignments {
  constructor(private readonly kv: KvStore) {}

  /** The CIDR assigned to `node`, or undefined. */
  async get(node: string): Promise<string | undefined> {
    return this.kv.get(this.kv.keys.ipamNode(node));
  }

  /** Calls onChange with the node's CIDR whenever it is assigned, changed or released (undefined). */
  watch(node: string, onChange: (cidr: string | undefined) => void): WatchCloser {
    const key = this.kv.keys.ipamNode(node);
    return this.kv.watchPrefix(key, {
      put: (k, v) => {
        if (k === key) onChange(v);
      },
      delete: (k) => {
        if (k === key) onChange(undefined);
      },
    });
  }

  /** Resolves with the node's CIDR once one is assigned; PodCidrNotAssignedError after timeoutMs. */
  waitFor(node: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.close();
        reject(new PodCidrNotAssignedError(node, timeoutMs));
      }, timeoutMs);
      const w = this.watch(node, (cidr) => {
        if (cidr === undefined) return;
        clearTimeout(timer);
        w.close();
        resolve(cidr);
      });
    });
  }
}
