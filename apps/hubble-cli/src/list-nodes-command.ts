import { observer, relay } from '@cilium-ts/api';
import { formatHelp } from './args.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { LIST_OUTPUT_FLAG, runListCommand } from './list-command.js';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTable } from './tab-writer.js';
import { formatGoDuration } from '@cilium-ts/process';

const HELP = formatHelp('hubble list nodes [flags]', 'List the nodes known to a Hubble relay.', [LIST_OUTPUT_FLAG, ...GLOBAL_FLAGS]);

const STATE_TEXT: Record<number, string> = {
  [relay.NodeState.NODE_CONNECTED]: 'Connected',
  [relay.NodeState.NODE_UNAVAILABLE]: 'Unavailable',
  [relay.NodeState.NODE_GONE]: 'Gone',
  [relay.NodeState.NODE_ERROR]: 'Error',
};

/** formatNodesTable renders nodes as `hubble list nodes` does (wide adds VERSION, ADDRESS, TLS). */
export function formatNodesTable(nodes: observer.Node[], wide: boolean): string {
  const rows = [['NAME', 'STATUS', 'AGE', 'FLOWS/S', 'CURRENT/MAX-FLOWS', ...(wide ? ['VERSION', 'ADDRESS', 'TLS'] : [])]];
  for (const n of sortNodes(nodes)) {
    const uptimeS = Number(n.uptimeNs) / 1e9;
    const age = n.uptimeNs > 0n ? formatGoDuration(((n.uptimeNs + 500_000_000n) / 1_000_000_000n) * 1_000_000_000n) : 'N/A';
    const rate = uptimeS > 0 ? (Number(n.seenFlows) / uptimeS).toFixed(2) : 'N/A';
    const flows = n.maxFlows > 0n
      ? `${n.numFlows}/${n.maxFlows} (${((Number(n.numFlows) / Number(n.maxFlows)) * 100).toFixed(2).padStart(6)}%)`
      : 'N/A';
    const row = [n.name, STATE_TEXT[n.state] ?? 'Unknown', age, rate, flows];
    if (wide) row.push(n.version || 'N/A', n.address, n.tls === undefined ? 'N/A' : n.tls.enabled ? 'Enabled' : 'Disabled');
    rows.push(row);
  }
  return formatTable(rows);
}

function sortNodes(nodes: observer.Node[]): observer.Node[] {
  return [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** runListNodes implements `hubble list nodes`. */
export function runListNodes(argv: string[], io: Io): Promise<number> {
  return runListCommand<observer.GetNodesResponse>(
    argv,
    io,
    HELP,
    (client, cb) => client.getNodes(observer.GetNodesRequest.fromPartial({}), cb),
    (res, output) =>
      output === 'json'
        ? `${goJson(sortNodes(res.nodes).map((n) => toProtoJson('observer.Node', observer.Node, n)), '  ')}\n`
        : formatNodesTable(res.nodes, output === 'wide'),
  );
}
