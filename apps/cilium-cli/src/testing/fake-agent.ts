// A real gRPC server standing in for cilium-agent in the CLI's tests: Daemon, Endpoints,
// Ipam, Identities, Monitor with canned data, and Policy backed by @cilium-ts/policy's
// Repository (so import/get/delete/trace round-trip real rules).
import { Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { recordType } from '@cilium-ts/bpf/events';
import { PolicyValidationError, Repository, parsePolicyDocument } from '@cilium-ts/policy';

/** The fake agent and what tests may change or inspect. */
export interface FakeAgent {
  target: string;
  repo: Repository;
  endpoints: agent.Endpoint[];
  identities: agent.Identity[];
  /** Events Monitor.Listen sends (filtered by the request's types) before ending the stream. */
  monitorEvents: agent.MonitorEvent[];
  /** The last MonitorRequest received. */
  lastMonitorRequest: agent.MonitorRequest | undefined;
  /** The last PolicyImportRequest received. */
  lastImport: agent.PolicyImportRequest | undefined;
  stop(): Promise<void>;
}

function fail(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

function configOf(ep: agent.Endpoint): agent.EndpointConfig {
  return { id: ep.id, options: Object.entries(ep.options).map(([name, value]) => ({ name, value, description: 'Emit datapath debug records for this endpoint' })) };
}

/** Starts the fake agent on the unix socket `socketPath`. */
export async function startFakeAgent(socketPath: string): Promise<FakeAgent> {
  const server = new Server();
  const state: FakeAgent = {
    target: `unix://${socketPath}`,
    repo: new Repository(),
    endpoints: [
      {
        ...agent.Endpoint.create(),
        id: 12,
        containerId: 'c12',
        ifname: 'eth0',
        hostIfname: 'lxc0123456789a',
        ipv4: '10.0.1.12',
        labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'],
        identity: 256,
        podName: 'web-0',
        namespace: 'default',
        state: 'ready',
        policyRevision: 2n,
        ingressEnforced: true,
        options: { Debug: 'Disabled' },
      },
    ],
    identities: [
      { id: 1, labels: ['reserved:host'], references: 0, reserved: true },
      { id: 256, labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'], references: 1, reserved: false },
    ],
    monitorEvents: [],
    lastMonitorRequest: undefined,
    lastImport: undefined,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };

  const daemon: agent.DaemonServer = {
    getConfig: (_call, cb) => cb(null, { options: { 'routing-mode': 'native', 'enable-policy': 'default', 'cgroup-root': '', 'kvstore-endpoints': 'http://127.0.0.1:2379' } }),
    status: (_call, cb) =>
      cb(null, agent.StatusResponse.fromPartial({
        nodeName: 'node-1',
        clusterName: 'default',
        version: '0.1.0-fake',
        state: 'degraded',
        subsystems: [
          { name: 'datapath', state: 'ok', message: '' },
          { name: 'kvstore', state: 'degraded', message: 'etcd lagging' },
        ],
        endpointCount: state.endpoints.length,
        policyRevision: BigInt(state.repo.revision),
        podCidr: '10.0.1.0/24',
        startedAt: { seconds: 1_700_000_000n, nanos: 0 },
        kernelFeatures: [
          { name: 'ringbuf', available: true, detail: '' },
          { name: 'geneve', available: false, detail: 'not built in' },
        ],
        bpfPinPath: '/sys/fs/bpf/cilium-ts',
      })),
  };
  const endpoints: agent.EndpointsServer = {
    createEndpoint: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
    deleteEndpoint: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
    getEndpoint: (call, cb) => {
      const ep = state.endpoints.find((e) => (call.request.id !== 0 ? e.id === call.request.id : e.containerId === call.request.containerId));
      if (ep) cb(null, ep);
      else cb(fail(status.NOT_FOUND, `endpoint ${call.request.id} not found`));
    },
    listEndpoints: (_call, cb) => cb(null, { endpoints: state.endpoints }),
    // Options as the agent keeps them: Debug only, true/false, all or nothing.
    getEndpointConfig: (call, cb) => {
      const ep = state.endpoints.find((e) => e.id === call.request.id);
      if (ep) cb(null, configOf(ep));
      else cb(fail(status.NOT_FOUND, `endpoint ${call.request.id} not found`));
    },
    patchEndpointConfig: (call, cb) => {
      const ep = state.endpoints.find((e) => e.id === call.request.id);
      if (!ep) return cb(fail(status.NOT_FOUND, `endpoint ${call.request.id} not found`));
      for (const [name, value] of Object.entries(call.request.options)) {
        if (name !== 'Debug') return cb(fail(status.INVALID_ARGUMENT, `endpoint option ${name}: unknown option; known options: Debug`));
        if (value !== 'true' && value !== 'false') return cb(fail(status.INVALID_ARGUMENT, `endpoint option ${name}=${value}: not a valid value; use true or false`));
      }
      for (const [name, value] of Object.entries(call.request.options)) ep.options[name] = value === 'true' ? 'Enabled' : 'Disabled';
      cb(null, configOf(ep));
    },
  };
  const ipam: agent.IpamServer = {
    allocate: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
    release: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
    list: (_call, cb) => cb(null, agent.IpamListResponse.fromPartial({ podCidr: '10.0.1.0/24', allocations: [{ ip: '10.0.1.12', owner: 'c12' }], available: 251 })),
  };
  const policy: agent.PolicyServer = {
    import: (call, cb) => {
      state.lastImport = call.request;
      try {
        const rules = parsePolicyDocument(call.request.document, call.request.source);
        const revision = state.repo.add(rules, { replaceWithLabels: call.request.replaceWithLabels });
        cb(null, { revision: BigInt(revision), ruleCount: rules.length });
      } catch (err) {
        if (err instanceof PolicyValidationError) cb(fail(status.INVALID_ARGUMENT, err.message));
        else cb(fail(status.INTERNAL, (err as Error).message));
      }
    },
    get: (call, cb) => {
      const rules = state.repo.get(call.request.labels);
      cb(null, { policyJson: JSON.stringify(rules), revision: BigInt(state.repo.revision), ruleCount: rules.length });
    },
    delete: (call, cb) => {
      try {
        const r = call.request.all ? state.repo.deleteAll() : state.repo.deleteByLabels(call.request.labels);
        cb(null, { revision: BigInt(r.revision), deleted: r.deleted });
      } catch (err) {
        cb(fail(status.INVALID_ARGUMENT, (err as Error).message));
      }
    },
    validate: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
    // The fake's repository revision is the enforced one: a later revision never comes.
    wait: (call, cb) => {
      const cur = BigInt(state.repo.revision);
      if (call.request.revision <= cur) return cb(null, { revision: cur });
      setTimeout(() => cb(fail(status.DEADLINE_EXCEEDED, `policy revision ${call.request.revision} is not enforced on this node after ${call.request.timeoutMs} ms: it enforces revision ${cur}`)), call.request.timeoutMs);
    },
  };
  const identities: agent.IdentitiesServer = {
    listIdentities: (_call, cb) => cb(null, { identities: state.identities }),
    getIdentity: (call, cb) => {
      const id = state.identities.find((i) => i.id === call.request.id);
      if (id) cb(null, id);
      else cb(fail(status.NOT_FOUND, `identity ${call.request.id} not found`));
    },
  };
  const monitor: agent.MonitorServer = {
    listen: (call) => {
      const req = call.request;
      state.lastMonitorRequest = req;
      for (const ev of state.monitorEvents) {
        if (ev.datapath !== undefined && req.types.length > 0 && !req.types.includes(recordType(ev.datapath))) continue;
        if (ev.agent !== undefined && !req.agentEvents) continue;
        call.write(ev);
      }
      call.end();
    },
  };
  const metadata: agent.MetadataServer = { watch: (call) => call.end() };
  server.addService(agent.DaemonService, daemon);
  server.addService(agent.EndpointsService, endpoints);
  server.addService(agent.IpamService, ipam);
  server.addService(agent.PolicyService, policy);
  server.addService(agent.IdentitiesService, identities);
  server.addService(agent.MonitorService, monitor);
  server.addService(agent.MetadataService, metadata);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(state.target, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve()));
  });
  return state;
}
