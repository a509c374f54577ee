// Reconciliation against the fake agent (@cilium-ts/agent/testing, a real gRPC server) and a
// stand-in for Docker's container list on a unix socket, through the plugin's real agent
// client and its connection watch: at start, and again after the agent restarts, the Docker
// endpoints of containers Docker no longer lists are deleted with their addresses; an
// endpoint whose container Docker lists (by endpoint id, or by name when stopped) and an
// endpoint of another runtime stay; with Docker unreachable nothing is deleted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { createLogger } from '@cilium-ts/process';
import { connectAgent } from './agent-client.js';
import type { ListedContainer } from './docker-api.js';
import { startReconciler, type ReconcileResult } from './reconcile.js';

const id = (c: string): string => c.repeat(64);

function endpoint(n: number, containerId: string, podName: string, runtime: string): agent.Endpoint {
  return { ...agent.Endpoint.create(), id: n, containerId, podName, runtime, ipv4: `10.200.0.${10 + n}`, state: 'ready', identity: 256 };
}

function container(name: string, endpointId: string, state = 'running'): ListedContainer {
  return { Id: name.repeat(8), Names: [`/${name}`], State: state, Labels: {}, NetworkSettings: { Networks: { net1: { NetworkID: 'n1', EndpointID: endpointId } } } };
}

/** Docker's GET /containers/json answering `containers` (what the plugin reads of Docker). */
async function serveDocker(socketPath: string, containers: ListedContainer[]): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/v1.41/containers/json?all=1') return res.writeHead(404).end('{"message":"page not found"}');
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(containers));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

describe('cilium-docker reconciliation with Docker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cilium-docker-reconcile-'));
  const agentSock = join(dir, 'agent.sock');
  const dockerSock = join(dir, 'docker.sock');
  const cleanups: Array<() => void> = [];
  after(() => {
    for (const c of cleanups.reverse()) c();
    rmSync(dir, { recursive: true, force: true });
  });
  const logger = createLogger('test', { level: 'error' });

  // The timeout only turns a reconciliation that never runs into a failure instead of a hang.
  test('at start and after an agent restart: endpoints of removed containers go, the others stay', { timeout: 120_000 }, async () => {
    const docker = await serveDocker(dockerSock, [container('web', id('a')), container('stopped', '', 'exited')]);
    cleanups.push(() => docker.close());
    const startEndpoints = [
      endpoint(1, id('a'), 'web', 'docker'), // listed by its endpoint id
      endpoint(2, id('b'), 'gone', 'docker'), // docker rm while the agent was down
      endpoint(3, id('c'), 'pod', 'podman'), // another runtime, not Docker's to judge
      endpoint(4, id('d'), 'stopped', 'docker'), // its container is still listed (by name)
    ];
    let fake = await FakeAgent.start(agentSock, { endpoints: startEndpoints });
    cleanups.push(() => fake.stop());
    const client = connectAgent(fake.target, 10_000);
    cleanups.push(() => client.close());
    const results: ReconcileResult[] = [];
    let wake: (() => void) | undefined;
    /** The result of the next run (the one after those seen so far). */
    const nextResult = (): Promise<ReconcileResult> => {
      const n = results.length;
      return new Promise((resolve) => (wake = () => results.length > n && resolve(results[n]!)));
    };
    let pending = nextResult();
    startReconciler({ agent: client, dockerSocket: dockerSock, nodeNetns: '', logger }, (r) => {
      results.push(r);
      wake?.();
    });

    const first = await pending;
    assert.deepEqual(first, { removed: [id('b')], kept: 2, skipped: '' });
    assert.deepEqual([...fake.endpoints.keys()].sort(), [id('a'), id('c'), id('d')]);
    assert.equal(fake.allocations.get('10.200.0.12'), undefined, 'the removed endpoint\'s address is released');
    assert.equal(fake.allocations.get('10.200.0.11'), id('a'));
    assert.equal(fake.allocations.get('10.200.0.13'), id('c'));

    // The agent restarts with a restored endpoint whose container was removed meanwhile.
    pending = nextResult();
    fake.stop();
    rmSync(agentSock, { force: true });
    fake = await FakeAgent.start(agentSock, { endpoints: [endpoint(1, id('a'), 'web', 'docker'), endpoint(5, id('e'), 'gone2', 'docker')] });
    const second = await pending;
    assert.deepEqual(second, { removed: [id('e')], kept: 1, skipped: '' });
    assert.deepEqual([...fake.endpoints.keys()], [id('a')]);
    assert.equal(fake.allocations.get('10.200.0.15'), undefined);

    // Docker unreachable at the next restart: nothing is deleted, and the result says why.
    await new Promise<void>((resolve) => docker.close(() => resolve()));
    pending = nextResult();
    fake.stop();
    rmSync(agentSock, { force: true });
    fake = await FakeAgent.start(agentSock, { endpoints: [endpoint(6, id('f'), 'gone3', 'docker')] });
    const third = await pending;
    assert.deepEqual(third.removed, []);
    assert.match(third.skipped, /cannot list Docker's containers: Docker API at .*docker.sock/);
    assert.deepEqual([...fake.endpoints.keys()], [id('f')]);
    assert.equal(fake.allocations.get('10.200.0.16'), id('f'));
  });
});
