// Named errors of the kvstore library. Each message says what was attempted, why it
// failed and what to do about it.

/** Connecting to etcd failed: no endpoint answered within the dial timeout. */
export class KvStoreConnectError extends Error {
  override readonly name = 'KvStoreConnectError';
  constructor(
    readonly endpoints: readonly string[],
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? 'no answer');
    super(
      `kvstore: connect to etcd at ${endpoints.join(', ')} failed within ${timeoutMs} ms: ${why}; ` +
        'check that etcd is running and reachable (tools/etcd start) and that --kvstore-endpoints is right',
      options,
    );
  }
}

/** A kvstore operation (get, put, delete, txn, lease) failed. */
export class KvStoreOperationError extends Error {
  override readonly name = 'KvStoreOperationError';
  constructor(
    readonly operation: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? 'unknown error');
    super(`kvstore: ${operation} ${key} failed: ${why}; the kvstore may be unreachable, retry once it is back`, options);
  }
}

/** Starting or stopping an etcd server process failed. */
export class EtcdProcessError extends Error {
  override readonly name = 'EtcdProcessError';
  constructor(
    readonly action: 'start' | 'stop',
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`etcd: ${action} failed: ${detail}`, options);
  }
}

/** A security identity could not be allocated. */
export class IdentityAllocationError extends Error {
  override readonly name = 'IdentityAllocationError';
  constructor(
    readonly labels: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`identity: allocate an identity for labels "${labels}" failed: ${detail}`, options);
  }
}
