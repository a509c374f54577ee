// With OTEL_EXPORTER_OTLP_ENDPOINT set, a command runs in a span whose context reaches the
// agent (traceparent metadata) and which is exported before the plugin exits.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { runPlugin } from './testing/run-plugin.js';

describe('cilium-cni tracing', () => {
  let fake: FakeAgent;
  let dir: string;
  let collector: Server;
  const posts: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-cni-trace-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'));
    collector = createServer((req, res) => {
      posts.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    fake?.stop();
    await new Promise<void>((resolve) => (collector ? collector.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('propagates the trace to the agent and exports the span', async () => {
    const port = (collector.address() as AddressInfo).port;
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'cts', type: 'cilium-cni', 'agent-socket': fake.target });
    const r = await runPlugin({ CNI_COMMAND: 'STATUS', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }, conf);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(fake.lastTraceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(posts.includes('POST /v1/traces'), JSON.stringify(posts));
  });

  it('sends no trace context without a collector configured', async () => {
    fake.lastTraceparent = undefined;
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'cts', type: 'cilium-cni', 'agent-socket': fake.target });
    const r = await runPlugin({ CNI_COMMAND: 'STATUS' }, conf);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.equal(fake.lastTraceparent, undefined);
  });
});
