// A small, real gRPC server standing in for cilium-agent in the plugin's tests: it
// serves Daemon, Ipam and Endpoints on a unix socket, hands out addresses from
// 10.200.0.0/24 (gateway 10.200.0.1) and, when `ipv6Pool` is on, IPv6 addresses from
// fd00:10:200::/120 (gateway fd00:10:200::1), and records every CreateEndpoint request.
import { Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';

/** The fake agent's state, open to assertions. */
export interface FakeAgent {
  /** gRPC target: unix:///path. */
  target: string;
  /** ip -> owner. */
  allocations: Map<string, string>;
  /** containerId -> endpoint. */
  endpoints: Map<string, agent.Endpoint>;
  /** Every CreateEndpoint request, in order. */
  createRequests: agent.CreateEndpointRequest[];
  /** The traceparent metadata of the last Status call, if any. */
  lastTraceparent: string | undefined;
  /** When set, CreateEndpoint fails with this message (INTERNAL). */
  failCreate: string | undefined;
  /** Whether the node is dual-stack: Allocate(ipv6) hands out addresses instead of FAILED_PRECONDITION. */
  ipv6Pool: boolean;
  stop(): Promise<void>;
}

function err(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

/** Starts a fake agent listening on the unix socket `socketPath`. */
export async function startFakeAgent(socketPath: string): Promise<FakeAgent> {
  const server = new Server();
  const state: FakeAgent = {
    target: `unix://${socketPath}`,
    allocations: new Map(),
    endpoints: new Map(),
    createRequests: [],
    failCreate: undefined,
    ipv6Pool: false,
    lastTraceparent: undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
  let nextId = 1;

  const daemon: agent.DaemonServer = {
    getConfig: (_call, cb) => cb(null, agent.GetConfigResponse.create()),
    status: (call, cb) => {
      state.lastTraceparent = call.metadata.get('traceparent')[0]?.toString();
      cb(null, agent.StatusResponse.fromPartial({
        nodeName: 'fake-node',
        clusterName: 'default',
        version: 'fake',
        state: 'ok',
        subsystems: [],
        endpointCount: state.endpoints.size,
        policyRevision: 1n,
        podCidr: '10.200.0.0/24',
        startedAt: undefined,
        kernelFeatures: [],
        bpfPinPath: '',
      }));
    },
  };
  const ipam: agent.IpamServer = {
    allocate: (call, cb) => {
      if (call.request.family === 'ipv6') {
        if (!state.ipv6Pool) return cb(err(status.FAILED_PRECONDITION, 'node runs IPv4 only'));
        for (let i = 2; i < 255; i++) {
          const ip = `fd00:10:200::${i.toString(16)}`;
          if (state.allocations.has(ip)) continue;
          state.allocations.set(ip, call.request.owner);
          return cb(null, { ip, prefixLength: 120, gateway: 'fd00:10:200::1', podCidr: 'fd00:10:200::/120' });
        }
        return cb(err(status.RESOURCE_EXHAUSTED, 'IPv6 pool exhausted'));
      }
      for (let i = 2; i < 255; i++) {
        const ip = `10.200.0.${i}`;
        if (state.allocations.has(ip)) continue;
        state.allocations.set(ip, call.request.owner);
        return cb(null, { ip, prefixLength: 24, gateway: '10.200.0.1', podCidr: '10.200.0.0/24' });
      }
      cb(err(status.RESOURCE_EXHAUSTED, 'pool exhausted'));
    },
    // As the agent: the owner is required; with an ip only that address, and only when it is the owner's.
    release: (call, cb) => {
      const { ip, owner } = call.request;
      if (owner === '') return cb(err(status.INVALID_ARGUMENT, 'owner is required'));
      const cur = ip !== '' ? state.allocations.get(ip) : undefined;
      if (cur !== undefined && cur !== owner) return cb(err(status.INVALID_ARGUMENT, `${ip} is allocated to owner "${cur}", not to "${owner}"`));
      let released = 0;
      for (const [a, o] of [...state.allocations]) {
        if (o === owner && (ip === '' || a === ip)) {
          state.allocations.delete(a);
          released++;
        }
      }
      cb(null, { released });
    },
    list: (_call, cb) =>
      cb(null, agent.IpamListResponse.fromPartial({
        podCidr: '10.200.0.0/24',
        allocations: [...state.allocations].map(([ip, owner]) => ({ ip, owner })),
        available: 253 - [...state.allocations.keys()].filter((ip) => !ip.includes(':')).length,
      })),
  };
  const endpoints: agent.EndpointsServer = {
    createEndpoint: (call, cb) => {
      const r = call.request;
      state.createRequests.push(r);
      if (state.failCreate !== undefined) return cb(err(status.INTERNAL, state.failCreate));
      const ep: agent.Endpoint = {
        ...agent.Endpoint.create(),
        id: nextId++,
        containerId: r.containerId,
        netns: r.netns,
        ifname: r.ifname,
        hostIfname: r.hostIfname,
        ipv4: r.ipv4,
        ipv6: r.ipv6,
        mac: r.mac,
        labels: r.labels,
        identity: 256,
        podName: r.podName,
        namespace: r.namespace,
        state: 'ready',
      };
      state.endpoints.set(r.containerId, ep);
      cb(null, ep);
    },
    deleteEndpoint: (call, cb) => cb(null, { found: state.endpoints.delete(call.request.containerId) }),
    getEndpoint: (call, cb) => {
      const ep = state.endpoints.get(call.request.containerId);
      if (ep) cb(null, ep);
      else cb(err(status.NOT_FOUND, `no endpoint for container ${call.request.containerId}`));
    },
    listEndpoints: (_call, cb) => cb(null, { endpoints: [...state.endpoints.values()] }),
    // Endpoint options are not the CNI plugin's business.
    getEndpointConfig: (_call, cb) => cb(err(status.UNIMPLEMENTED, 'not in the fake')),
    patchEndpointConfig: (_call, cb) => cb(err(status.UNIMPLEMENTED, 'not in the fake')),
  };
  server.addService(agent.DaemonService, daemon);
  server.addService(agent.IpamService, ipam);
  server.addService(agent.EndpointsService, endpoints);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(state.target, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve()));
  });
  return state;
}
