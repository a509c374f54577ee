import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { flow, observer, relay } from '@cilium-ts/api';
import { createServer, type GrpcServer } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { runHubble } from './testing/run-hubble.js';
import { at, policyVerdictDrop, tcpFlow } from './testing/sample-flows.js';

describe('hubble CLI end to end against a fake Observer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-hubble-cli-'));
  const socket = `unix://${join(dir, 'hubble.sock')}`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir };
  const requests: observer.GetFlowsRequest[] = [];
  const agentRequests: observer.GetAgentEventsRequest[] = [];
  const debugRequests: observer.GetDebugEventsRequest[] = [];
  let server: GrpcServer;

  before(async () => {
    const impl: observer.ObserverServer = {
      getFlows(call) {
        requests.push(call.request);
        if (call.request.whitelist.some((f) => f.destinationPort.includes('abc'))) {
          const err = new Error('invalid destination port filter: invalid port "abc"') as ServiceError;
          err.code = Status.UNKNOWN;
          err.details = err.message;
          err.metadata = new Metadata();
          call.emit('error', err);
          return;
        }
        call.write(observer.GetFlowsResponse.fromPartial({ nodeStatus: { stateChange: relay.NodeState.NODE_CONNECTED, nodeNames: ['n1'] }, nodeName: 'relay', time: at(8) }));
        call.write(observer.GetFlowsResponse.fromPartial({ nodeStatus: { stateChange: relay.NodeState.NODE_UNAVAILABLE, nodeNames: ['n2'] }, nodeName: 'relay', time: at(8) }));
        for (const f of [tcpFlow, policyVerdictDrop]) call.write(observer.GetFlowsResponse.fromPartial({ flow: f, nodeName: f.nodeName, time: f.time }));
        call.end();
      },
      getAgentEvents: (call) => {
        agentRequests.push(call.request);
        call.write(observer.GetAgentEventsResponse.fromPartial({
          time: at(9), nodeName: 'node-1',
          agentEvent: { type: flow.AgentEventType.ENDPOINT_DELETED, endpointUpdate: { id: 7n, namespace: 'default', podName: 'xwing' } },
        }));
        call.end();
      },
      getDebugEvents: (call) => {
        debugRequests.push(call.request);
        call.write(observer.GetDebugEventsResponse.fromPartial({
          time: at(10), nodeName: 'node-1',
          debugEvent: {
            type: flow.DebugEventType.DBG_CT_MATCH, hash: 0xbeef, arg1: 1, arg2: 257, arg3: 0,
            source: { ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] },
            message: 'CT entry found: established, peer identity 257',
          },
        }));
        call.end();
      },
      getNodes: (_call, cb) =>
        cb(null, observer.GetNodesResponse.fromPartial({
          nodes: [
            { name: 'b', state: relay.NodeState.NODE_CONNECTED, address: '10.0.0.2:4244', version: 'v1.11.0', uptimeNs: 100_000_000_000n, numFlows: 100n, maxFlows: 4095n, seenFlows: 1000n, tls: { enabled: true } },
            { name: 'a', state: relay.NodeState.NODE_UNAVAILABLE, address: '10.0.0.1:4244' },
          ],
        })),
      getNamespaces: (_call, cb) =>
        cb(null, observer.GetNamespacesResponse.fromPartial({
          namespaces: [{ namespace: 'default' }, { cluster: 'c1', namespace: 'kube-system' }, { cluster: 'c2', namespace: 'x' }],
        })),
      serverStatus: (_call, cb) =>
        cb(null, observer.ServerStatusResponse.fromPartial({
          numFlows: 4095n, maxFlows: 4095n, seenFlows: 123456n, uptimeNs: 100_000_000_000n,
          numConnectedNodes: 2, numUnavailableNodes: 1, unavailableNodes: ['c'], version: 'v1.11.0',
        })),
    };
    server = await createServer({
      component: 'fake-hubble',
      services: [{ definition: observer.ObserverService, implementation: impl }],
      addresses: [socket],
      logger: createLogger('fake-hubble', { level: 'error' }),
      reflection: false,
    });
    server.health.set('hubble.server.Observer', 'SERVING');
  });

  after(async () => {
    await server?.shutdown({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('observe -o json prints one proto-JSON response per line (as jsonpb) and the node errors on stderr', async () => {
    const r = await runHubble(['observe', '--server', socket, '-o', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.flow.Summary), ['TCP Flags: SYN', 'pv']);
    assert.equal(lines[0].flow.IP.source, '10.0.0.1');
    assert.equal(requests.at(-1)?.number, 20n);
    const errLines = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(errLines.map((l) => l.node_status.state_change), ['NODE_UNAVAILABLE']);
    const legacy = await runHubble(['observe', '--server', socket, '-o', 'json'], { ...env, HUBBLE_COMPAT: 'other,legacy-json-output' });
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.deepEqual(legacy.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).Summary), ['TCP Flags: SYN', 'pv'], 'HUBBLE_COMPAT=legacy-json-output prints flows only');
  });

  it('observe compact (HUBBLE_SERVER from the environment) prints flows and the unavailable nodes', async () => {
    const r = await runHubble(['observe', '--last', '2', '--color', 'never'], { ...env, HUBBLE_SERVER: socket });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'Dec  1 10:00:00.123: default/xwing:43210 (ID:1234) -> default/deathstar-1:80 (ID:5678) to-endpoint FORWARDED (TCP Flags: SYN)\n' +
        'Dec  1 10:00:03.123: 10.0.0.3 (unknown) <> 10.0.0.4 (unknown) policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN DENIED (pv)\n',
    );
    assert.equal(r.stderr, 'Dec  1 10:00:08.123 [relay]: 1 nodes are unavailable: n2\n');
    assert.equal(requests.at(-1)?.number, 2n);
  });

  it('observe exits 1 with the bare message for an UNKNOWN error', async () => {
    const r = await runHubble(['observe', '--server', socket, '--to-port', 'abc'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'invalid destination port filter: invalid port "abc"\n');
  });

  it('status prints the health line and the compact summary', async () => {
    const r = await runHubble(['status', '--server', socket], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Healthcheck (via ${socket}): Ok\nCurrent/Max Flows: 4,095/4,095 (100.00%)\nFlows/s: 1234.56\nConnected Nodes: 2/3\nUnavailable Nodes: 1\n  - c\n`,
    );
    const j = await runHubble(['status', '--server', socket, '-o', 'json'], env);
    assert.equal(
      j.stdout,
      '{"num_flows":"4095","max_flows":"4095","seen_flows":"123456","uptime_ns":"100000000000","num_connected_nodes":2,"num_unavailable_nodes":1,"unavailable_nodes":["c"],"version":"v1.11.0"}\n',
    );
  });

  it('observe agent-events prints agent events; --time-format applies to flows and events', async () => {
    const r = await runHubble(['observe', 'agent-events', '--server', socket, '--last', '3', '--print-node-name', '--time-format', 'RFC3339Milli'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2021-12-01T10:00:09.123Z [node-1]: ENDPOINT_DELETED (id: 7, namespace: default, pod name: xwing)\n');
    assert.equal(agentRequests.at(-1)?.number, 3n);
    const flows = await runHubble(['observe', '--server', socket, '--color', 'never', '--time-format', 'RFC3339'], env);
    assert.equal(flows.code, 0, flows.stderr);
    assert.match(flows.stdout, /^2021-12-01T10:00:00Z: default\/xwing:43210 \(ID:1234\) -> default\/deathstar-1:80 \(ID:5678\) to-endpoint FORWARDED/);
    const bad = await runHubble(['observe', '--server', socket, '--time-format', 'Kitchen'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid --time-format "Kitchen"/);
  });

  it('observe debug-events prints debug events as upstream; selectors go into the request', async () => {
    const r = await runHubble(['observe', 'debug-events', '--server', socket, '--first', '5', '--print-node-name', '--time-format', 'RFC3339Milli'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2021-12-01T10:00:10.123Z [node-1]: default/xwing (ID: 101) DBG_CT_MATCH MARK: 0xbeef CPU: N/A (CT entry found: established, peer identity 257)\n');
    assert.deepEqual([debugRequests.at(-1)?.number, debugRequests.at(-1)?.first, debugRequests.at(-1)?.follow], [5n, true, false]);
    const json = await runHubble(['observe', 'debug-events', '--server', socket, '-o', 'json'], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).debug_event.type, 'DBG_CT_MATCH');
    assert.equal(debugRequests.at(-1)?.number, 20n);
    const bad = await runHubble(['observe', 'debug-events', '--server', socket, '-f', '-o', 'table'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /table is not compatible with follow mode/);
  });

  it('status -o table and -o dict', async () => {
    const table = await runHubble(['status', '--server', socket, '-o', 'table'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(table.stdout.split('\n').map((l) => l.split(/ {3,}/)), [
      ['NUM FLOWS', 'MAX FLOWS', 'SEEN FLOWS', 'UPTIME', 'NUM CONNECTED NODES', 'NUM UNAVAILABLE NODES', 'VERSION'],
      ['4,095', '4,095', '123,456', '1m40s', '2', '1', 'v1.11.0'],
      [''],
    ]);
    const dict = await runHubble(['status', '--server', socket, '-o', 'dict'], env);
    assert.equal(dict.code, 0, dict.stderr);
    assert.equal(
      dict.stdout,
      '          NUM FLOWS: 4,095\n          MAX FLOWS: 4,095\n         SEEN FLOWS: 123,456\n             UPTIME: 1m40s\n' +
        'NUM CONNECTED NODES: 2\n NUM UNAVAIL. NODES: 1\n            VERSION: v1.11.0\n',
    );
  });

  it('list nodes -o wide prints the sorted table', async () => {
    const r = await runHubble(['list', 'nodes', '--server', socket, '-o', 'wide'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'NAME   STATUS        AGE     FLOWS/S   CURRENT/MAX-FLOWS    VERSION   ADDRESS         TLS\n' +
        'a      Unavailable   N/A     N/A       N/A                  N/A       10.0.0.1:4244   N/A\n' +
        'b      Connected     1m40s   10.00     100/4095 (  2.44%)   v1.11.0   10.0.0.2:4244   Enabled\n',
    );
  });

  it('list namespaces: table, wide (Go tabwriter blocks: a row without cluster splits the column), json', async () => {
    const table = await runHubble(['list', 'namespaces', '--server', socket], env);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout, 'NAMESPACE\ndefault\nkube-system\nx\n');
    const wide = await runHubble(['list', 'namespaces', '--server', socket, '-o', 'wide'], env);
    assert.equal(wide.stdout, 'NAMESPACE   CLUSTER\ndefault\nkube-system   c1\nx             c2\n');
    const json = await runHubble(['list', 'namespaces', '--server', socket, '-o', 'json'], env);
    assert.equal(json.stdout, '[\n  {\n    "namespace": "default"\n  },\n  {\n    "cluster": "c1",\n    "namespace": "kube-system"\n  },\n  {\n    "cluster": "c2",\n    "namespace": "x"\n  }\n]\n');
    const bad = await runHubble(['list', 'namespaces', '--server', socket, '-o', 'yaml'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid output format "yaml"/);
  });

  it('fails with a connection error when nothing listens', async () => {
    const r = await runHubble(['observe', '--server', `unix://${join(dir, 'nobody.sock')}`, '--timeout', '2s'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^failed to connect to 'unix:\/\/.*nobody\.sock'/);
  });

  it('prints help and version without a server', async () => {
    const h = await runHubble(['observe', '--help'], env);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--from-pod/);
    const v = await runHubble(['version'], env);
    assert.match(v.stdout, /^hubble v0\.9\.0/);
  });
});
