import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agent, health as healthApi } from '@cilium-ts/api';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { createClient, readAll, unary, waitForReady } from './client.js';
import { InvalidArgumentError, NotFoundError, FailedPreconditionError, UnavailableError } from './errors.js';
import { createServer, type GrpcServer } from './server.js';
import { ServingStatus } from './health.js';
import { memoryLogger } from '@cilium-ts/process/testing';
import { tempDir } from './testing/temp-dir.js';

const dir = tempDir('grpc-server');
const socket = join(dir.path, 'sub', 'agent.sock');
const { logger, records } = memoryLogger('agent');
let server: GrpcServer;

const daemon: agent.DaemonServer = {
  getConfig: async () => agent.GetConfigResponse.create(),
  status: async (call) => agent.StatusResponse.create({
    nodeName: 'node-1',
    state: 'ok',
    version: call.metadata.get('x-test')[0]?.toString() ?? '',
    startedAt: { seconds: 1_700_000_000n, nanos: 123_456_789 },
    policyRevision: 2n ** 64n - 1n,
  }),
};

// GetEndpoint by id: 1 found; 2 callback-style success; 400 invalid; 404 not found;
// 412 failed precondition; 503 unavailable; 500 a bug (plain Error); 501 synchronous throw.
const endpoints: Partial<agent.EndpointsServer> = {
  getEndpoint: async (call, callback) => {
    const id = call.request.id;
    if (id === 1) return agent.Endpoint.create({ id: 1, podName: 'web' });
    if (id === 2) return callback(null, agent.Endpoint.create({ id: 2 }));
    if (id === 400) throw new InvalidArgumentError('id 400 is not a valid endpoint id', { field: 'id' });
    if (id === 404) throw new NotFoundError('endpoint 404 not found', { resource: 'endpoint/404' });
    if (id === 412) throw new FailedPreconditionError('endpoint 412 is not ready');
    if (id === 503) throw new UnavailableError('datapath is restarting');
    throw new Error(`boom ${id}`);
  },
};

function expectCode(p: Promise<unknown>, code: status, details?: RegExp): Promise<void> {
  return p.then(
    () => assert.fail(`expected ${status[code]}`),
    (err: ServiceError) => {
      assert.equal(err.code, code, `got ${status[err.code]}: ${err.details}`);
      if (details) assert.match(err.details, details);
    },
  );
}

before(async () => {
  server = await createServer({
    component: 'agent',
    logger,
    addresses: [`unix://${socket}`, '127.0.0.1:0'],
    services: [
      { definition: agent.DaemonService, implementation: daemon },
      { definition: agent.EndpointsService, implementation: endpoints },
    ],
  });
});

after(async () => {
  await server?.shutdown({ timeoutMs: 2000 });
  dir.remove();
});

test('listens on a unix socket (mode 0660, parent created) and a TCP port', async () => {
  assert.equal(server.addresses[0], `unix://${socket}`);
  assert.match(server.addresses[1]!, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(server.addresses[1], '127.0.0.1:0');
  assert.equal(statSync(socket).mode & 0o777, 0o660);
  assert.ok(statSync(socket).isSocket());
});

test('serves Daemon.Status over both addresses, in all address spellings', async () => {
  for (const address of [`unix://${socket}`, socket, server.addresses[1]!]) {
    const client = createClient(agent.DaemonClient, address);
    try {
      await waitForReady(client, 5000);
      const md = new Metadata();
      md.set('x-test', 'v1.2.3');
      const resp = await unary(client, 'status', agent.StatusRequest.create(), { deadline: 5000, metadata: md });
      assert.equal(resp.nodeName, 'node-1');
      assert.equal(resp.version, 'v1.2.3');
      assert.deepEqual(resp.startedAt, { seconds: 1_700_000_000n, nanos: 123_456_789 });
      assert.equal(resp.policyRevision, 2n ** 64n - 1n);
    } finally {
      client.close();
    }
  }
});

test('handler errors map to their gRPC status codes; other errors become INTERNAL without a crash', async () => {
  const client = createClient(agent.EndpointsClient, server.addresses[1]!);
  try {
    const get = (id: number) => unary(client, 'getEndpoint', agent.GetEndpointRequest.create({ id }), { deadline: 5000 });
    assert.equal((await get(1)).podName, 'web');
    assert.equal((await get(2)).id, 2);
    await expectCode(get(400), status.INVALID_ARGUMENT, /^id 400 is not a valid endpoint id$/);
    await expectCode(get(404), status.NOT_FOUND, /endpoint 404 not found/);
    await expectCode(get(412), status.FAILED_PRECONDITION, /not ready/);
    await expectCode(get(503), status.UNAVAILABLE, /restarting/);
    await expectCode(get(500), status.INTERNAL, /boom 500/);
    const logged = records.find((r) => r.msg === 'rpc handler failed');
    assert.ok(logged, 'unexpected error is logged');
    assert.equal(logged.method, '/cilium.agent.v1.Endpoints/GetEndpoint');
    assert.match(String((logged.error as { stack?: string }).stack), /boom 500/);
    // Still serving after the failure.
    assert.equal((await get(1)).id, 1);
    // Methods without a handler answer UNIMPLEMENTED.
    await expectCode(unary(client, 'listEndpoints', agent.ListEndpointsRequest.create(), { deadline: 5000 }), status.UNIMPLEMENTED);
  } finally {
    client.close();
  }
});

test('health: Check for "" and each service; NOT_FOUND for unknown names; set() changes it', async () => {
  const client = createClient(healthApi.HealthClient, `unix://${socket}`);
  try {
    const check = (service: string) => unary(client, 'check', healthApi.HealthCheckRequest.create({ service }), { deadline: 5000 });
    assert.equal((await check('')).status, ServingStatus.SERVING);
    assert.equal((await check('cilium.agent.v1.Daemon')).status, ServingStatus.SERVING);
    assert.equal((await check('cilium.agent.v1.Endpoints')).status, ServingStatus.SERVING);
    await expectCode(check('hubble.server.Observer'), status.NOT_FOUND, /unknown service/);
    server.health.set('hubble.server.Observer', 'NOT_SERVING');
    assert.equal((await check('hubble.server.Observer')).status, ServingStatus.NOT_SERVING);
    server.health.set('hubble.server.Observer', ServingStatus.SERVING);
    assert.equal((await check('hubble.server.Observer')).status, ServingStatus.SERVING);
  } finally {
    client.close();
  }
});

test('health: Watch sends the current status, then changes; SERVICE_UNKNOWN for unknown names', async () => {
  const client = createClient(healthApi.HealthClient, server.addresses[1]!);
  try {
    const stream = client.watch(healthApi.HealthCheckRequest.create({ service: 'watched' }));
    const seen: ServingStatus[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: healthApi.HealthCheckResponse) => {
        seen.push(m.status);
        if (m.status === ServingStatus.SERVICE_UNKNOWN) server.health.set('watched', 'SERVING');
        else if (m.status === ServingStatus.SERVING) server.health.set('watched', 'NOT_SERVING');
        else if (m.status === ServingStatus.NOT_SERVING) resolve();
      });
      stream.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? undefined : reject(e)));
    });
    await done;
    stream.cancel();
    assert.deepEqual(seen, [ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  } finally {
    client.close();
  }
});

test('readAll collects a server stream ended by shutdown of the tracker', async () => {
  // A Watch stream is tracked; ending all tracked streams ends it with status OK.
  const extra = await createServer({ component: 'extra', logger, addresses: ['127.0.0.1:0'], services: [] });
  const client = createClient(healthApi.HealthClient, extra.addresses[0]!);
  try {
    const stream = client.watch(healthApi.HealthCheckRequest.create({ service: '' }));
    const all = readAll(stream);
    await new Promise((resolve) => stream.once('data', resolve));
    assert.equal(extra.tracker.size, 1);
    extra.tracker.endAll();
    const messages = await all;
    assert.equal(messages[0]?.status, ServingStatus.SERVING);
  } finally {
    client.close();
    await extra.shutdown({ timeoutMs: 2000 });
  }
});

test('refuses a path that is not a socket, and a socket another server is serving', async () => {
  await assert.rejects(
    createServer({ component: 'dup', logger, addresses: [`unix://${socket}`], services: [] }),
    /another process is serving it/,
  );
  await assert.rejects(
    createServer({ component: 'rel', logger, addresses: ['unix://relative.sock'], services: [] }),
    /absolute path/,
  );
  const file = join(dir.path, 'regular-file');
  writeFileSync(file, 'not a socket');
  await assert.rejects(
    createServer({ component: 'file', logger, addresses: [`unix://${file}`], services: [] }),
    /not a socket is in the way/,
  );
  assert.ok(existsSync(file), 'the regular file is left alone');
});

test('shutdown removes the unix socket file', async () => {
  const path = join(dir.path, 'short-lived.sock');
  const s = await createServer({ component: 'short', logger, addresses: [path], services: [] });
  assert.ok(existsSync(path));
  await s.shutdown({ timeoutMs: 2000 });
  assert.ok(!existsSync(path));
});
