// cilium map list | map get NAME, cilium bpf endpoint list, cilium bpf tunnel list: this
// node's pinned maps as the kernel reports them, through the agent's BpfMaps service.
import { maps } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';
import { table } from './bpf.js';

/** Renders pinned maps like `cilium map list` (and their fill: entries / max). */
export function formatMapList(res: maps.ListMapsResponse): string {
  const rows = res.maps.map((m) => [
    m.name,
    m.type,
    m.hasEntries ? String(m.entries) : '-',
    String(m.maxEntries),
    m.hasEntries && m.maxEntries > 0 ? `${((100 * m.entries) / m.maxEntries).toFixed(1)}%` : '-',
  ]);
  return table(['Name', 'Type', 'Num entries', 'Max entries', 'Pressure'], rows);
}

/** Renders one map like `cilium map get NAME`: its facts, then one line per entry (hex). */
export function formatMapGet(res: maps.GetMapResponse): string {
  const m = res.map!;
  const head = `Map ${m.name} (${m.type}, id ${m.id}): key ${m.keySize} B, value ${m.valueSize} B, ${m.hasEntries ? `${m.entries} of ${m.maxEntries} entries` : `${m.maxEntries} slots (entries are not listed for this type)`}\n`;
  return head + (res.entries.length === 0 ? '' : table(['Key', 'Value'], res.entries.map((e) => [e.key, e.value])));
}

/** Renders the endpoints map like `cilium bpf endpoint list`. */
export function formatBpfEndpoints(res: maps.ListBpfEndpointsResponse): string {
  return table(['IP ADDRESS', 'LOCAL ENDPOINT INFO'], res.endpoints.map((e) => [e.ip, `id=${e.endpointId} sec_id=${e.identity} ifindex=${e.ifindex}`]));
}

/** Renders the tunnel map like `cilium bpf tunnel list`. */
export function formatTunnels(res: maps.ListTunnelsResponse): string {
  return table(['TUNNEL', 'VALUE'], res.tunnels.map((t) => [t.prefix, t.tunnelEndpoint]));
}

/** `cilium map list [-o json]`. */
export const mapListCommand = defineCommand({
  path: ['map', 'list'],
  summary: 'list every pinned BPF map with its entries in use and maximum',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(maps.BpfMapsClient, 'BpfMaps.ListMaps', (c, deadline) => unary(c, 'listMaps', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.maps);
    else ctx.stdout.write(formatMapList(res));
    return 0;
  },
});

/** `cilium map get NAME [-o json]`. */
export const mapGetCommand = defineCommand({
  path: ['map', 'get'],
  summary: 'show the entries of one pinned BPF map (a name from cilium map list)',
  positionals: 'NAME',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one map name');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(maps.BpfMapsClient, 'BpfMaps.GetMap', (c, deadline) => unary(c, 'getMap', { name: positionals[0]! }, { deadline }));
    if (json) printJson(ctx.stdout, res);
    else ctx.stdout.write(formatMapGet(res));
    return 0;
  },
});

/** `cilium bpf endpoint list [-o json]`. */
export const bpfEndpointListCommand = defineCommand({
  path: ['bpf', 'endpoint', 'list'],
  summary: 'list the local endpoints map (address -> endpoint id, identity, ifindex)',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(maps.BpfMapsClient, 'BpfMaps.ListBpfEndpoints', (c, deadline) => unary(c, 'listBpfEndpoints', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.endpoints);
    else ctx.stdout.write(formatBpfEndpoints(res));
    return 0;
  },
});

/** `cilium bpf tunnel list [-o json]`. */
export const bpfTunnelListCommand = defineCommand({
  path: ['bpf', 'tunnel', 'list'],
  summary: 'list the tunnel map (remote pod prefix -> node address; empty in native routing)',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(maps.BpfMapsClient, 'BpfMaps.ListTunnels', (c, deadline) => unary(c, 'listTunnels', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.tunnels);
    else ctx.stdout.write(formatTunnels(res));
    return 0;
  },
});

/** The commands of this file, in help order. */
export const MAP_COMMANDS = [mapListCommand, mapGetCommand, bpfEndpointListCommand, bpfTunnelListCommand] as const;
