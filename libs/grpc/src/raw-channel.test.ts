import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { RawChannel, RawChannelClosedError } from './raw-channel.js';
import { RawClientStream } from './raw-client-stream.js';
import type { RawStatus } from './raw-grpc.js';

function frame(payload: Buffer): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
}

describe('RawChannel: one shared connection per target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-raw-channel-'));
  const socket = join(dir, 'h2.sock');
  const target = `unix://${socket}`;
  let server: Http2Server;
  let sessions = 0;
  const open = new Set<ServerHttp2Stream>();

  before(async () => {
    server = createServer();
    server.on('session', (session) => {
      sessions++;
      // A client that destroys its connection makes the server's session error; expected here.
      session.on('error', () => undefined);
    });
    // Each call gets one message now and the rest (and its status) when the test says so.
    server.on('stream', (stream) => {
      open.add(stream);
      stream.on('error', () => undefined);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(frame(Buffer.from('hello')));
      stream.on('close', () => open.delete(stream));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (channel: RawChannel): { first: Promise<void>; done: Promise<RawStatus> } => {
    let seen: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (seen = resolve));
    const done = new Promise<RawStatus>((resolve) => {
      new RawClientStream({ target: 'unused', path: '/test.Svc/Stream', request: Buffer.from('req'), channel }, { message: () => seen(), status: resolve });
    });
    return { first, done };
  };

  it('runs concurrent calls as streams of one connection, reopens it after it closed, and refuses calls once closed', async () => {
    const channel = new RawChannel({ target });
    const before = sessions;
    const calls = [start(channel), start(channel), start(channel)];
    await Promise.all(calls.map((c) => c.first));
    assert.equal(sessions - before, 1, 'three open calls share one connection');
    assert.equal(channel.connections, 1);
    for (const s of open) s.end();
    for (const c of calls) assert.equal((await c.done).code, Status.OK);
    const next = start(channel);
    await next.first;
    assert.equal(sessions - before, 1, 'a later call reuses the connection');
    // The server goes away under an open call: the call ends UNAVAILABLE, the next one reconnects.
    channel.session().destroy(new Error('connection reset'));
    assert.equal((await next.done).code, Status.UNAVAILABLE);
    const again = start(channel);
    await again.first;
    assert.equal(channel.connections, 2, 'a new connection after the old one failed');
    channel.close();
    assert.equal((await again.done).code, Status.UNAVAILABLE, 'closing the channel ends its calls');
    assert.throws(
      () => new RawClientStream({ target: 'unused', path: '/test.Svc/Stream', request: Buffer.from('req'), channel }, { message: () => undefined, status: () => undefined }),
      (e: unknown) => e instanceof RawChannelClosedError && /was closed/.test(e.message),
    );
  });
});
