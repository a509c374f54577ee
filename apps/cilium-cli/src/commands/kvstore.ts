// cilium kvstore get|set|delete KEY: raw etcd keys through the agent's KVStore service.
// The agents' own keys (under the kvstore prefix) change only with --force.
import { kvstore } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { CliError, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';

const recursiveFlag = { recursive: { type: 'boolean', default: false, description: 'every key under KEY (as a prefix)' } } as const;
const forceFlag = { force: { type: 'boolean', default: false, description: "change a key the agents own (under the kvstore prefix), which can break the cluster" } } as const;

/** Renders keys like upstream's `cilium kvstore get`: `key => value`. */
export function formatKvPairs(res: kvstore.KvGetResponse): string {
  return res.entries.map((e) => `${e.key} => ${e.value}\n`).join('');
}

/** `cilium kvstore get KEY [--recursive] [-o json]`. */
export const kvstoreGetCommand = defineCommand({
  path: ['kvstore', 'get'],
  summary: 'read a kvstore key, or every key under it with --recursive',
  positionals: 'KEY',
  flags: { ...hostFlag, ...outputFlag, ...recursiveFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one key');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(kvstore.KVStoreClient, 'KVStore.Get', (c, deadline) =>
      unary(c, 'get', { key: positionals[0]!, recursive: values.recursive }, { deadline }));
    if (json) printJson(ctx.stdout, Object.fromEntries(res.entries.map((e) => [e.key, e.value])));
    else ctx.stdout.write(formatKvPairs(res));
    return 0;
  },
});

/** `cilium kvstore set KEY=VALUE | KEY VALUE [--force]`. */
export const kvstoreSetCommand = defineCommand({
  path: ['kvstore', 'set'],
  summary: 'write a kvstore key (--force for a key the agents own)',
  positionals: 'KEY VALUE | KEY=VALUE',
  flags: { ...hostFlag, ...forceFlag },
  async run(ctx, { values, positionals }) {
    let key: string;
    let value: string;
    if (positionals.length === 2) [key, value] = positionals as [string, string];
    else if (positionals.length === 1 && positionals[0]!.includes('=')) {
      const eq = positionals[0]!.indexOf('=');
      [key, value] = [positionals[0]!.slice(0, eq), positionals[0]!.slice(eq + 1)];
    } else throw new CliError(`expected KEY VALUE or KEY=VALUE, got ${positionals.length === 0 ? 'nothing' : positionals.join(' ')}; see --help`, 2);
    await ctx.connect(values.host).callService(kvstore.KVStoreClient, 'KVStore.Set', (c, deadline) => unary(c, 'set', { key, value, force: values.force }, { deadline }));
    ctx.stdout.write(`${key} => ${value}\n`);
    return 0;
  },
});

/** `cilium kvstore delete KEY [--recursive] [--force]`. */
export const kvstoreDeleteCommand = defineCommand({
  path: ['kvstore', 'delete'],
  summary: 'delete a kvstore key, or every key under it with --recursive (--force for keys the agents own)',
  positionals: 'KEY',
  flags: { ...hostFlag, ...recursiveFlag, ...forceFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one key');
    const res = await ctx.connect(values.host).callService(kvstore.KVStoreClient, 'KVStore.Delete', (c, deadline) =>
      unary(c, 'delete', { key: positionals[0]!, recursive: values.recursive, force: values.force }, { deadline }));
    ctx.stdout.write(`Deleted ${res.deleted} key${res.deleted === 1 ? '' : 's'}\n`);
    return 0;
  },
});

/** The commands of this file, in help order. */
export const KVSTORE_COMMANDS = [kvstoreGetCommand, kvstoreSetCommand, kvstoreDeleteCommand] as const;
