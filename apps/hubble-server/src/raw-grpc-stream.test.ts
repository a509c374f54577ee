import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Metadata, Server, ServerCredentials, status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { agent, timestampFromNanos } from '@cilium-ts/api';
import { RawServerStream, RawStreamError, type RawStatus } from './raw-grpc-stream.js';

const LISTEN = agent.MonitorService.listen.path;
const request = agent.MonitorRequest.encode(agent.MonitorRequest.fromPartial({ agentEvents: true })).finish();

function run(address: string): { got: agent.MonitorEvent[]; stream: RawServerStream<agent.MonitorEvent>; done: Promise<RawStatus>; errors: Error[] } {
  const got: agent.MonitorEvent[] = [];
  const errors: Error[] = [];
  const stream = new RawServerStream(address, LISTEN, request, (b) => agent.MonitorEvent.decode(b));
  stream.on('data', (e: agent.MonitorEvent) => got.push(e));
  stream.on('error', (e: Error) => errors.push(e));
  const done = new Promise<RawStatus>((resolve) => stream.on('status', resolve));
  return { got, stream, done, errors };
}

describe('RawServerStream against a grpc-js server', () => {
  let dir: string;
  let server: Server;
  let mode: 'many' | 'fail' | 'fail-at-once' | 'hold' = 'many';
  let held: ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent> | undefined;
  let heldCancelled = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-raw-grpc-'));
    server = new Server();
    server.addService(agent.MonitorService, {
      listen(call: ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>) {
        assert.equal(call.request.agentEvents, true);
        const fail = (details: string) => {
          const err = new Error(details) as ServiceError;
          err.code = status.FAILED_PRECONDITION;
          err.details = details;
          err.metadata = new Metadata();
          call.emit('error', err);
        };
        if (mode === 'fail-at-once') return fail('agent is shutting down: 100% done');
        if (mode === 'hold') {
          held = call;
          call.on('cancelled', () => (heldCancelled = true));
          call.write(agent.MonitorEvent.fromPartial({ nodeName: 'first' }));
          return;
        }
        // Sizes from tiny to larger than an HTTP/2 frame, so messages straddle chunks.
        for (let i = 0; i < 300; i++) {
          call.write(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(BigInt(i)), nodeName: `n${i}`, datapath: Buffer.alloc((i * 97) % 20000, i) }));
        }
        if (mode === 'fail') fail('agent is shutting down: 100% done');
        else call.end();
      },
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${join(dir, 'agent.sock')}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  });

  after(() => {
    server?.forceShutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const address = () => `unix://${join(dir, 'agent.sock')}`;

  test('delivers every message in order, across frame boundaries, then OK', async () => {
    mode = 'many';
    const r = run(address());
    assert.equal((await r.done).code, status.OK);
    assert.equal(r.got.length, 300);
    r.got.forEach((e, i) => {
      assert.equal(e.nodeName, `n${i}`);
      assert.equal(e.datapath?.length, (i * 97) % 20000);
      assert.ok(e.datapath.every((b) => b === (i & 0xff)), `message ${i} bytes intact`);
    });
  });

  test('a status after messages, and a trailers-only status, become RawStreamError with the decoded message', async () => {
    for (const m of ['fail', 'fail-at-once'] as const) {
      mode = m;
      const r = run(address());
      const st = await r.done;
      assert.deepEqual(st, { code: status.FAILED_PRECONDITION, details: 'agent is shutting down: 100% done' });
      assert.equal(r.got.length, m === 'fail' ? 300 : 0);
      assert.ok(r.errors[0] instanceof RawStreamError && r.errors[0].code === status.FAILED_PRECONDITION);
    }
  });

  test('cancel ends the call at the server too', async () => {
    mode = 'hold';
    heldCancelled = false;
    const r = run(address());
    while (r.got.length === 0) await new Promise((res) => setTimeout(res, 10));
    r.stream.cancel();
    assert.equal((await r.done).code, status.CANCELLED);
    while (!heldCancelled) await new Promise((res) => setTimeout(res, 10));
    assert.ok(held);
  });

  test('an agent on a bracketed IPv6 address ([::1]:port)', async () => {
    // Issue 16: this reader bracketed the already bracketed host (http://[[::1]]:port), which
    // node:http2 rejects with ERR_INVALID_URL.
    mode = 'many';
    const v6 = new Server();
    v6.addService(agent.MonitorService, {
      listen(call: ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>) {
        call.write(agent.MonitorEvent.fromPartial({ nodeName: 'over-ipv6' }));
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => v6.bindAsync('[::1]:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    try {
      const r = run(`[::1]:${port}`);
      assert.equal((await r.done).code, status.OK);
      assert.deepEqual(r.got.map((e) => e.nodeName), ['over-ipv6']);
    } finally {
      v6.forceShutdown();
    }
  });

  test('nothing listening: UNAVAILABLE', async () => {
    const r = run(`unix://${join(dir, 'nobody.sock')}`);
    assert.equal((await r.done).code, status.UNAVAILABLE);
  });
});
