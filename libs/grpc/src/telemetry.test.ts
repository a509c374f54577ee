import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { status } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { createClient, unary } from './client.js';
import { InvalidArgumentError } from './errors.js';
import { createServer, type GrpcServer } from './server.js';
import { startTelemetry, type Telemetry } from './telemetry.js';
import { memoryLogger } from '@cilium-ts/process/testing';

const spans = new tracing.InMemorySpanExporter();
const processor = new tracing.SimpleSpanProcessor(spans);
let telemetry: Telemetry;
let server: GrpcServer;
let client: agent.DaemonClient & agent.EndpointsClient;
let endpoints: agent.EndpointsClient;

before(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  telemetry = await startTelemetry({
    serviceName: 'telemetry-test',
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    spanProcessors: [processor],
    logger: memoryLogger().logger,
  });
  server = await createServer({
    component: 'agent',
    logger: memoryLogger().logger,
    addresses: ['127.0.0.1:0'],
    services: [
      { definition: agent.DaemonService, implementation: { status: async () => agent.StatusResponse.create({ nodeName: 'n1' }) } },
      { definition: agent.EndpointsService, implementation: { getEndpoint: async () => { throw new InvalidArgumentError('bad id'); } } },
    ],
  });
  client = createClient(agent.DaemonClient, server.addresses[0]!) as typeof client;
  endpoints = createClient(agent.EndpointsClient, server.addresses[0]!);
});

after(async () => {
  client?.close();
  endpoints?.close();
  await server?.shutdown({ timeoutMs: 2000 });
  await telemetry?.shutdown();
});

test('a span per RPC named by its path, with the status code, child of the caller\'s trace', async () => {
  const tracer = trace.getTracer('test');
  const callerTraceId = await tracer.startActiveSpan('caller', async (span) => {
    await unary(client, 'status', agent.StatusRequest.create(), { deadline: 5000 });
    span.end();
    return span.spanContext().traceId;
  });
  await assert.rejects(unary(endpoints, 'getEndpoint', agent.GetEndpointRequest.create({ id: 7 }), { deadline: 5000 }),
    (e: { code: number }) => e.code === status.INVALID_ARGUMENT);

  // Export waits for asynchronous resource detection: flush before looking.
  await processor.forceFlush();
  const finished = spans.getFinishedSpans();
  const ok = finished.find((s) => s.name === '/cilium.agent.v1.Daemon/Status');
  assert.ok(ok, `spans: ${finished.map((s) => s.name).join(', ')}`);
  assert.equal(ok.attributes['rpc.grpc.status_code'], status.OK);
  assert.equal(ok.attributes['rpc.method'], 'Status');
  assert.equal(ok.spanContext().traceId, callerTraceId, 'trace context travelled in metadata');
  const bad = finished.find((s) => s.name === '/cilium.agent.v1.Endpoints/GetEndpoint');
  assert.ok(bad);
  assert.equal(bad.attributes['rpc.grpc.status_code'], status.INVALID_ARGUMENT);
  assert.equal(bad.status.message, 'bad id');
});

test('Prometheus endpoint exposes the RPC duration histogram and call counter by method and code', async () => {
  const addr = telemetry.metricsAddress!;
  assert.equal(addr.host, '127.0.0.1');
  assert.ok(addr.port > 0);
  const text = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
  const duration = text.split('\n').filter((l) => l.startsWith('rpc_server_duration') && l.includes('_count'));
  assert.ok(duration.some((l) => l.includes('rpc_method="Status"') && l.includes('rpc_grpc_status_code="0"')), text);
  const calls = text.split('\n').filter((l) => l.startsWith('rpc_server_calls'));
  assert.ok(calls.some((l) => l.includes('rpc_method="GetEndpoint"') && l.includes('rpc_grpc_status_code="3"') && / 1$/.test(l)), text);
  assert.equal((await fetch(`http://127.0.0.1:${addr.port}/other`)).status, 404);
});
