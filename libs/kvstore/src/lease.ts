// A granted etcd lease with automatic keepalive, and the keys bound to it.
import { EventEmitter } from 'node:events';
import type { Lease } from 'etcd3';

/** A granted etcd lease kept alive in the background until revoked or released. */
export class KvLease extends EventEmitter<{ lost: [Error] }> {
  private lostError: Error | undefined;

  /** @internal Built by KvStore.lease(). */
  constructor(
    private readonly inner: Lease,
    /** The lease id as etcd reports it (decimal string). */
    readonly id: string,
    /** The TTL the lease was granted with. */
    readonly ttlSeconds: number,
  ) {
    super();
    inner.on('lost', (err) => {
      this.lostError = err;
      this.emit('lost', err);
    });
  }

  /** True once etcd no longer knows the lease (expired, revoked or unreachable past its TTL). */
  get lost(): boolean {
    return this.lostError !== undefined || this.inner.revoked();
  }

  /** Writes key = value bound to this lease: the key disappears with the lease. */
  async put(key: string, value: string): Promise<void> {
    await this.inner.put(key).value(value).exec();
  }

  /** Revokes the lease: etcd deletes every key bound to it now. */
  async revoke(): Promise<void> {
    if (this.inner.revoked()) return;
    await this.inner.revoke();
  }

  /** Stops the keepalive without revoking: keys disappear when the TTL runs out. */
  release(): void {
    this.inner.release();
  }
}
