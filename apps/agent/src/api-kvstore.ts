/**
 * The agent's KVStore service (cilium.agent.v1.KVStore, kvstore.proto): raw get, set and
 * delete of etcd keys through the agent's connection, for `cilium kvstore`. Keys under
 * the agent's kvstore prefix are the cluster's state: writing or deleting them needs
 * `force`, and without it nothing changes.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { kvstore } from '@cilium-ts/api';
import { InvalidArgumentError, NotFoundError, type ServiceRegistration } from '@cilium-ts/grpc';
import type { KvStore } from '@cilium-ts/kvstore';

/** Longest key accepted (etcd's own limit is far larger; keys this long are mistakes). */
const MaxKeyLength = 4096;

/** What the KVStore service needs: the agent's kvstore connection. */
export interface KvStoreServiceDeps {
  kv: Pick<KvStore, 'prefix' | 'get' | 'getPrefix' | 'put' | 'delete' | 'deletePrefix'>;
}

type Unary<Req> = ServerUnaryCall<Req, unknown>;

/** Checks the key field: required, no NUL, bounded. */
function checkKey(key: string): void {
  if (!key) throw new InvalidArgumentError('key is required (an absolute etcd key, e.g. cilium/state/identities/v1/id/256)', { field: 'key' });
  if (key.length > MaxKeyLength) throw new InvalidArgumentError(`key is ${key.length} characters, limit ${MaxKeyLength}`, { field: 'key' });
  if (key.includes('\0')) throw new InvalidArgumentError('key contains a NUL character', { field: 'key' });
}

/** Builds the KVStore service registration. */
export function kvstoreService(deps: KvStoreServiceDeps): ServiceRegistration {
  const owned = (key: string, recursive: boolean): boolean => {
    const root = `${deps.kv.prefix}/`;
    // A recursive delete of a parent of the prefix (e.g. "cil") would take the cluster's state too.
    return key.startsWith(root) || key === deps.kv.prefix || (recursive && root.startsWith(key));
  };
  const refuseOwned = (verb: string, key: string, recursive: boolean, force: boolean): void => {
    if (force || !owned(key, recursive)) return;
    throw new InvalidArgumentError(
      `${verb} ${key}${recursive ? ' (recursive)' : ''}: the agents own the keys under "${deps.kv.prefix}/" (identities, nodes, ipcache, policies, services, heartbeat); ` +
        'changing them by hand can break the cluster. Set force (cilium kvstore --force) to do it anyway',
      { field: 'force' },
    );
  };

  const implementation = {
    async get(call: Unary<kvstore.KvGetRequest>) {
      const { key, recursive } = call.request;
      checkKey(key);
      if (recursive) {
        const entries = [...(await deps.kv.getPrefix(key))].map(([k, value]) => ({ key: k, value })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return kvstore.KvGetResponse.fromPartial({ entries });
      }
      const value = await deps.kv.get(key);
      if (value === undefined) throw new NotFoundError(`key ${key} does not exist (use recursive for the keys under it)`, { resource: 'key' });
      return kvstore.KvGetResponse.fromPartial({ entries: [{ key, value }] });
    },
    async set(call: Unary<kvstore.KvSetRequest>) {
      const { key, value, force } = call.request;
      checkKey(key);
      refuseOwned('set', key, false, force);
      await deps.kv.put(key, value);
      return kvstore.KvSetResponse.fromPartial({});
    },
    async delete(call: Unary<kvstore.KvDeleteRequest>) {
      const { key, recursive, force } = call.request;
      checkKey(key);
      refuseOwned('delete', key, recursive, force);
      const deleted = recursive ? await deps.kv.deletePrefix(key) : (await deps.kv.delete(key)) ? 1 : 0;
      return kvstore.KvDeleteResponse.fromPartial({ deleted });
    },
  };
  return { definition: kvstore.KVStoreService, implementation };
}
