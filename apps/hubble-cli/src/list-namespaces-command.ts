import { observer } from '@cilium-ts/api';
import { formatHelp } from './args.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { LIST_OUTPUT_FLAG, runListCommand } from './list-command.js';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTable } from './tab-writer.js';

const HELP = formatHelp('hubble list namespaces [flags]', 'List namespaces with recent flows.', [LIST_OUTPUT_FLAG, ...GLOBAL_FLAGS]);

/**
 * formatNamespaces renders GetNamespaces' answer as upstream v0.12.3's `hubble list namespaces`:
 * table "NAMESPACE" (wide adds "CLUSTER", written only for a namespace with a cluster), json an
 * indented array of proto-JSON objects (`null` when there are none, as Go's nil slice), in the
 * server's order (already sorted by cluster and namespace).
 */
export function formatNamespaces(namespaces: observer.Namespace[], output: 'table' | 'wide' | 'json'): string {
  if (output === 'json') {
    if (namespaces.length === 0) return 'null\n';
    return `${goJson(namespaces.map((n) => toProtoJson('observer.Namespace', observer.Namespace, n)), '  ')}\n`;
  }
  const wide = output === 'wide';
  const rows = [wide ? ['NAMESPACE', 'CLUSTER'] : ['NAMESPACE']];
  for (const n of namespaces) rows.push(wide && n.cluster !== '' ? [n.namespace, n.cluster] : [n.namespace]);
  return formatTable(rows);
}

/** runListNamespaces implements `hubble list namespaces`. */
export function runListNamespaces(argv: string[], io: Io): Promise<number> {
  return runListCommand<observer.GetNamespacesResponse>(
    argv,
    io,
    HELP,
    (client, cb) => client.getNamespaces(observer.GetNamespacesRequest.fromPartial({}), cb),
    (res, output) => formatNamespaces(res.namespaces, output),
  );
}
