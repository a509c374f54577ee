/**
 * The agent's BpfMaps service (cilium.agent.v1.BpfMaps, maps.proto): the maps pinned
 * under this node's pin directory with their fill, one map's entries, the endpoints map
 * and the tunnel map, for `cilium map list|get`, `cilium bpf endpoint list` and
 * `cilium bpf tunnel list`. Reads the kernel's maps, not the agent's view of them.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { maps } from '@cilium-ts/api';
import { getPinnedMap, listPinnedMaps, PinnedMapNotFoundError, type Datapath, type PinnedMapInfo } from '@cilium-ts/bpf';
import { InvalidArgumentError, NotFoundError, type ServiceRegistration } from '@cilium-ts/grpc';

/** What the BpfMaps service needs of the running agent. */
export interface MapsServiceDeps {
  /** bpffs directory holding this node's pins. */
  bpfPinDir: string;
  /** The agent's datapath (endpoints map, ipcache, tunnel mode). */
  datapath: Pick<Datapath, 'endpointsMapList' | 'ipcacheList' | 'tunnel'>;
  /** This node's addresses: ipcache entries hosted here are not tunnelled. */
  nodeAddresses: readonly string[];
}

type Unary<Req> = ServerUnaryCall<Req, unknown>;

function mapToApi(m: PinnedMapInfo): maps.PinnedMap {
  return maps.PinnedMap.fromPartial({ ...m, entries: m.entries ?? 0, hasEntries: m.entries !== undefined });
}

/** Builds the BpfMaps service registration. */
export function mapsService(deps: MapsServiceDeps): ServiceRegistration {
  const implementation = {
    async listMaps(_call: Unary<maps.ListMapsRequest>) {
      return maps.ListMapsResponse.fromPartial({ maps: listPinnedMaps(deps.bpfPinDir).map(mapToApi) });
    },
    async getMap(call: Unary<maps.GetMapRequest>) {
      const name = call.request.name;
      if (!name) throw new InvalidArgumentError('name is required (a map name as cilium map list shows it)', { field: 'name' });
      if (name.startsWith('/') || name.split('/').some((p) => p === '..' || p === '.' || p === '') || name.split('/').length > 2) {
        throw new InvalidArgumentError(`name "${name}" is not a map name below the pin directory (e.g. "ipcache", "ep12/policy")`, { field: 'name' });
      }
      try {
        const got = getPinnedMap(deps.bpfPinDir, name);
        return maps.GetMapResponse.fromPartial({ map: mapToApi(got.info), entries: got.entries });
      } catch (err) {
        if (err instanceof PinnedMapNotFoundError) throw new NotFoundError(err.message, { resource: 'map', cause: err });
        throw err;
      }
    },
    async listBpfEndpoints(_call: Unary<maps.ListBpfEndpointsRequest>) {
      const endpoints = deps.datapath.endpointsMapList()
        .map((e) => ({ ip: e.ip, endpointId: e.endpointId, ifindex: e.ifindex, identity: e.identity }))
        .sort((a, b) => a.endpointId - b.endpointId || a.ip.localeCompare(b.ip));
      return maps.ListBpfEndpointsResponse.fromPartial({ endpoints });
    },
    async listTunnels(_call: Unary<maps.ListTunnelsRequest>) {
      // Native routing tunnels nothing (upstream's tunnel map is empty there too).
      if (!deps.datapath.tunnel()) return maps.ListTunnelsResponse.fromPartial({ tunnels: [] });
      const tunnels = deps.datapath.ipcacheList()
        .filter((e) => e.hostIp && !deps.nodeAddresses.includes(e.hostIp))
        .map((e) => ({ prefix: e.cidr, tunnelEndpoint: e.hostIp! }))
        .sort((a, b) => a.prefix.localeCompare(b.prefix, 'en', { numeric: true }));
      return maps.ListTunnelsResponse.fromPartial({ tunnels });
    },
  };
  return { definition: maps.BpfMapsService, implementation };
}
