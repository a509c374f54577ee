// Types shared by the kvstore's modules.

/** Log levels the kvstore reports through its log callback. */
export type KvLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured log sink: level, message, fields. */
export type KvLogger = (level: KvLogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A range of keys and the store revision it was read at. */
export interface KvListing {
  entries: Map<string, string>;
  revision: bigint;
}

/**
 * One watch event delivered: the watched prefix, Cilium's action (create, update,
 * delete) and how long it waited between etcd's response arriving and its handler
 * being called (behind the earlier events of the same response).
 */
export interface KvWatchEventRecord {
  prefix: string;
  action: 'create' | 'update' | 'delete';
  queuedMs: number;
}
