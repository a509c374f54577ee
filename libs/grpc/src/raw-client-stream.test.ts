import assert from 'node:assert/strict';
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { RawClientStream } from './raw-client-stream.js';
import type { RawStatus } from './raw-grpc.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** What a test server does with one call. */
type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

function frame(payload: Buffer, flag = 0): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f[0] = flag;
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
}

function respondOk(stream: ServerHttp2Stream, body: Buffer[], trailers: Record<string, string> = { 'grpc-status': '0' }): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  let i = 0;
  const next = (): void => {
    if (stream.destroyed) return;
    if (i === body.length) {
      stream.end();
      return;
    }
    stream.write(body[i++]!, () => setImmediate(next));
  };
  next();
}

/** Runs one call against the server and collects what the sink saw. */
function call(target: string, headers?: Record<string, string>, throwOn?: string): Promise<{ messages: string[]; status: RawStatus }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    new RawClientStream({ target, path: '/test.Svc/Stream', request: Buffer.from('req'), headers }, {
      message(bytes) {
        const text = bytes.toString();
        if (text === throwOn) throw new Error('bad message');
        messages.push(text);
      },
      status: (status) => resolve({ messages, status }),
    });
  });
}

describe('RawClientStream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-raw-stream-'));
  const socket = join(dir, 'h2.sock');
  const target = `unix://${socket}`;
  let server: Http2Server;
  let handler: Handler = () => undefined;

  before(async () => {
    server = createServer();
    server.on('stream', (stream, headers) => handler(stream, headers));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message intact however the frames are cut into DATA chunks', async () => {
    const payloads = Array.from({ length: 40 }, (_, i) => `message-${i}-${'x'.repeat(i * 7)}`);
    const all = Buffer.concat(payloads.map((p) => frame(Buffer.from(p))));
    for (const cut of [1, 2, 3, 4, 5, 6, 13, 64, all.length]) {
      const pieces: Buffer[] = [];
      for (let off = 0; off < all.length; off += cut) pieces.push(all.subarray(off, off + cut));
      handler = (stream) => respondOk(stream, pieces);
      const r = await call(target);
      assert.equal(r.status.code, Status.OK, `cut ${cut}: ${r.status.details}`);
      assert.deepEqual(r.messages, payloads, `cut ${cut}`);
    }
  });

  it('sends the request as one frame with the path and the extra headers', async () => {
    let seen: { path: string; md: string; body: string } | undefined;
    handler = (stream, headers) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        seen = { path: String(headers[':path']), md: String(headers['x-trace']), body: Buffer.concat(parts).subarray(5).toString() };
        respondOk(stream, []);
      });
    };
    const r = await call(target, { 'x-trace': 'abc' });
    assert.equal(r.status.code, Status.OK);
    assert.deepEqual(seen, { path: '/test.Svc/Stream', md: 'abc', body: 'req' });
  });

  it('reports a trailers-only error status with its message', async () => {
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'no%20such%20thing' }, { endStream: true });
    };
    const r = await call(target);
    assert.deepEqual(r.status, { code: Status.NOT_FOUND, details: 'no such thing' });
  });

  it('reports an error status sent after messages, with the messages delivered first', async () => {
    handler = (stream) => respondOk(stream, [frame(Buffer.from('a')), frame(Buffer.from('b'))], { 'grpc-status': '14', 'grpc-message': 'going away' });
    const r = await call(target);
    assert.deepEqual(r.messages, ['a', 'b']);
    assert.deepEqual(r.status, { code: Status.UNAVAILABLE, details: 'going away' });
  });

  it('fails with INTERNAL on a compressed message, a sink that throws, or a body cut mid-message', async () => {
    handler = (stream) => respondOk(stream, [frame(Buffer.from('z'), 1)]);
    assert.equal((await call(target)).status.code, Status.INTERNAL);
    handler = (stream) => respondOk(stream, [frame(Buffer.from('ok')), frame(Buffer.from('boom'))]);
    const thrown = await call(target, undefined, 'boom');
    assert.equal(thrown.status.code, Status.INTERNAL);
    assert.match(thrown.status.details, /bad message/);
    handler = (stream) => respondOk(stream, [frame(Buffer.from('whole')).subarray(0, 7)]);
    assert.equal((await call(target)).status.code, Status.INTERNAL);
  });

  it('reports UNAVAILABLE when nothing listens, and CANCELLED after cancel()', async () => {
    const r = await call(`unix://${join(dir, 'nobody.sock')}`);
    assert.equal(r.status.code, Status.UNAVAILABLE);
    let closed: Promise<void> | undefined;
    handler = (stream) => {
      closed = new Promise((resolve) => stream.on('close', () => resolve()));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frame(Buffer.from('first')));
    };
    const st = await new Promise<RawStatus>((resolve) => {
      const s: RawClientStream = new RawClientStream({ target, path: '/test.Svc/Stream', request: Buffer.alloc(0) }, {
        message: () => s.cancel(),
        status: resolve,
      });
    });
    assert.equal(st.code, Status.CANCELLED);
    await closed;
  });

  it('ends the call UNAVAILABLE when the peer stops answering keepalive pings', async () => {
    // A peer that accepts the connection and then says nothing at all (a hung host).
    const silentPath = join(dir, 'silent.sock');
    const sockets: Socket[] = [];
    const silent = createNetServer((sock) => {
      sockets.push(sock);
      sock.resume();
    });
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      const st = await new Promise<RawStatus>((resolve) => {
        new RawClientStream({ target: `unix://${silentPath}`, path: '/test.Svc/Stream', request: Buffer.alloc(0), keepaliveMs: 150 }, {
          message: () => undefined,
          status: resolve,
        });
      });
      assert.equal(st.code, Status.UNAVAILABLE);
      assert.match(st.details, /keepalive/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
