import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@cilium-ts/process';
import { HttpListener, type AccessRecord, type ConnectionContext } from './http-listener.js';
import { H2_PREFACE } from './h2c-preface.js';
import { callEcho, startEchoServer } from './testing/grpc-echo.js';
import { readResponse } from './testing/http-response.js';

/** One h2c request on `session`: status, body, trailers. */
function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let text = '';
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve({ status, body: text, trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** A frame: 9-byte header (length, type, flags, stream id) and payload. */
function frame(type: number, flags: number, stream: number, payload: Buffer, length = payload.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal header fields without indexing, new names (RFC 7541 6.2.2), no Huffman. */
function hpack(fields: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of fields) parts.push(Buffer.from([0x00, k.length]), Buffer.from(k), Buffer.from([v.length]), Buffer.from(v));
  return Buffer.concat(parts);
}

const SETTINGS = frame(0x4, 0, 0, Buffer.alloc(0));
const getFrames = (path: string, stream = 1): Buffer => frame(0x1, 0x5, stream, hpack([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', 'web']]));

/** Sends raw bytes on a new connection; resolves when the proxy closes it or after it idles 300 ms. */
function sendRaw(port: number, bytes: Buffer, endAfter = false): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const idle = (): void => {
      clearTimeout(timer);
      timer = setTimeout(done, 300);
    };
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      idle();
    });
    s.on('close', done);
    s.on('error', done);
    s.on('connect', () => {
      s.write(bytes);
      if (endAfter) s.end();
      idle();
    });
  });
}

describe('h2c on the HTTP listener', () => {
  const logger = createLogger('proxy-test', { level: 'error' });
  let upstream: http2.Http2Server;
  let upstreamPort = 0;
  const seen: string[] = [];
  const grpcSeen: string[] = [];
  let echo: { server: grpc.Server; port: number };
  let listener: HttpListener;
  let port = 0;
  let context: ConnectionContext | undefined;
  const records: AccessRecord[] = [];

  const ctx = (policy: ConnectionContext['policy'], toPort = upstreamPort): ConnectionContext => ({
    endpointId: 7,
    direction: 'ingress',
    source: { address: '127.0.0.1', port: 1, identity: 5001 },
    destination: { address: '127.0.0.1', port: toPort, identity: 5002 },
    policy,
    upstream: { address: '127.0.0.1', port: toPort },
  });
  const publicOnly = { allowAll: false, rules: { http: [{ method: 'GET', path: '/public(/.*)?' }, { method: 'POST', path: '/submit', headers: ['X-Who'] }] } };

  before(async () => {
    upstream = http2.createServer();
    upstream.on('stream', (stream, headers) => {
      let body = '';
      stream.on('data', (d: Buffer) => (body += d.toString()));
      stream.on('end', () => {
        seen.push(`${headers[':method']} ${headers[':path']}${body ? ` ${body}` : ''}`);
        const text = `hello ${headers[':path']} from ${headers['x-who'] ?? 'anyone'} at ${headers[':authority']}`;
        stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-upstream': '1' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'end' }));
        stream.end(text);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as net.AddressInfo).port;
    echo = await startEchoServer(grpcSeen);
    listener = new HttpListener({ port: 0, logger, resolve: () => context, onRecord: (r) => records.push(r), maxHeaderSize: 4096 });
    port = await listener.listen();
  });
  after(async () => {
    await listener.close();
    await new Promise((r) => upstream.close(r));
    echo.server.forceShutdown();
  });

  test('per stream: GET /public passes with its trailers, GET /private gets 403 Access denied, the session goes on', async () => {
    context = ctx(publicOnly);
    seen.length = 0;
    records.length = 0;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const [a, b, c] = await Promise.all([
        h2Request(session, { ':path': '/public', 'x-who': 'a' }),
        h2Request(session, { ':path': '/private' }),
        h2Request(session, { ':method': 'POST', ':path': '/submit', 'x-who': 'b' }, 'xyz'),
      ]);
      assert.deepEqual([a.status, a.body, a.trailers['x-trailer']], [200, `hello /public from a at 127.0.0.1:${port}`, 'end']);
      assert.deepEqual([b.status, b.body], [403, 'Access denied']);
      assert.equal(c.status, 200);
      assert.equal((await h2Request(session, { ':method': 'POST', ':path': '/submit' }, 'abc')).status, 403, 'the POST rule needs X-Who');
      assert.equal((await h2Request(session, { ':path': '/public/x' })).body, `hello /public/x from anyone at 127.0.0.1:${port}`);
    } finally {
      session.close();
    }
    assert.deepEqual(seen.sort(), ['GET /public', 'GET /public/x', 'POST /submit xyz']);
    assert.deepEqual(records.filter((r) => r.type === 'response' && r.verdict === 'denied').map((r) => `${r.protocol} ${r.method} ${r.url} ${r.code}`).sort(), ['HTTP/2 GET /private 403', 'HTTP/2 POST /submit 403']);
  });

  test('HTTP/1.1 still works on the same listener', async () => {
    const h1 = await startH1();
    context = ctx(publicOnly, h1.port);
    const s = net.connect(port, '127.0.0.1');
    try {
      s.write('GET /public HTTP/1.1\r\nHost: web\r\n\r\n');
      assert.deepEqual(await readResponse(s).then((r) => [r.status, r.body]), [200, 'h1 /public']);
      s.write('GET /private HTTP/1.1\r\nHost: web\r\n\r\n');
      assert.deepEqual(await readResponse(s).then((r) => [r.status, r.body]), [403, 'Access denied']);
    } finally {
      s.destroy();
      h1.close();
    }
  });

  test('gRPC (grpc-js client and server): the allowed method passes, the other gets PERMISSION_DENIED', async () => {
    context = ctx({ allowAll: false, rules: { http: [{ method: 'POST', path: '/test\\.Echo/Allowed' }] } }, echo.port);
    grpcSeen.length = 0;
    assert.equal(await callEcho(`127.0.0.1:${port}`, 'allowed', 'hi'), 'echo:hi');
    await assert.rejects(callEcho(`127.0.0.1:${port}`, 'denied', 'hi'), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      assert.equal(err.details, 'RBAC: access denied');
      return true;
    });
    assert.equal(await callEcho(`127.0.0.1:${port}`, 'allowed', 'again'), 'echo:again');
    assert.deepEqual(grpcSeen, ['/test.Echo/Allowed', '/test.Echo/Allowed']);
  });

  test('a connection with no policy is closed (fail closed), nothing reaches the upstream', async () => {
    context = undefined;
    seen.length = 0;
    const got = await sendRaw(port, Buffer.concat([H2_PREFACE, SETTINGS, getFrames('/public')]));
    assert.equal(got.indexOf('hello'), -1);
    assert.deepEqual(seen, []);
  });

  test('malformed and truncated frames get GOAWAY or a close; no crash, no request reaches the upstream', async () => {
    context = ctx(publicOnly);
    seen.length = 0;
    const shapes: Array<[string, Buffer, boolean]> = [
      ['a truncated preface', H2_PREFACE.subarray(0, 10), true],
      ['a truncated frame header', Buffer.concat([H2_PREFACE, SETTINGS.subarray(0, 5)]), true],
      ['a truncated HEADERS payload', Buffer.concat([H2_PREFACE, SETTINGS, getFrames('/public').subarray(0, 20)]), true],
      ['HEADERS on stream 0', Buffer.concat([H2_PREFACE, SETTINGS, getFrames('/public', 0)]), false],
      ['a frame longer than SETTINGS_MAX_FRAME_SIZE', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x0, 0, 1, Buffer.alloc(20000))]), false],
      ['a SETTINGS frame of bad length', Buffer.concat([H2_PREFACE, frame(0x4, 0, 0, Buffer.alloc(5))]), false],
      ['garbage HPACK', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x1, 0x5, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]))]), false],
      ['HEADERS without :path', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x1, 0x5, 1, hpack([[':method', 'GET'], [':scheme', 'http']]))]), false],
      ['an upper-case header name', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x1, 0x5, 1, hpack([[':method', 'GET'], [':scheme', 'http'], [':path', '/public'], ['X-Bad', '1']]))]), false],
      ['a connection-specific header', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x1, 0x5, 1, hpack([[':method', 'GET'], [':scheme', 'http'], [':path', '/public'], ['connection', 'close']]))]), false],
      ['CONTINUATION without HEADERS', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x9, 0x4, 1, hpack([[':path', '/public']]))]), false],
      ['DATA on an idle stream', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x0, 0x1, 3, Buffer.from('x'))]), false],
      ['CONNECT', Buffer.concat([H2_PREFACE, SETTINGS, frame(0x1, 0x5, 1, hpack([[':method', 'CONNECT'], [':authority', 'evil:443']]))]), false],
    ];
    const answers = await Promise.all(shapes.map(([, bytes, endAfter]) => sendRaw(port, bytes, endAfter)));
    for (const [i, [name, , endAfter]] of shapes.entries()) {
      const got = answers[i]!;
      assert.equal(got.indexOf('hello'), -1, name);
      if (!endAfter) {
        // Something came back: GOAWAY (type 7) or RST_STREAM (type 3) after the server's SETTINGS.
        const types = frameTypes(got);
        assert.ok(types.includes(7) || types.includes(3), `${name}: got frame types ${types.join(',')}`);
      }
    }
    assert.deepEqual(seen, []);
    // Mutations of a request for /private (one byte each): whatever nghttp2 accepts is still
    // checked, so nothing but an allowed path may reach the upstream.
    const valid = Buffer.concat([H2_PREFACE, SETTINGS, getFrames('/private')]);
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const mutants = Array.from({ length: 60 }, () => {
      const m = Buffer.from(valid);
      m[H2_PREFACE.length + rand(m.length - H2_PREFACE.length)] = rand(256);
      return m;
    });
    await Promise.all(mutants.map((m) => sendRaw(port, m)));
    assert.ok(seen.every((s) => /^GET \/public(\/.*)?$/.test(s)), seen.join('; '));
    // The listener still serves.
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      assert.equal((await h2Request(session, { ':path': '/public' })).status, 200);
    } finally {
      session.close();
    }
  });
});

/** The frame types in a byte stream from the proxy. */
function frameTypes(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 9 <= b.length; at += 9 + b.readUIntBE(at, 3)) out.push(b[at + 3]!);
  return out;
}

async function startH1(): Promise<{ port: number; close: () => void }> {
  const s = http.createServer((q, r) => {
    const t = `h1 ${q.url}`;
    r.writeHead(200, { 'Content-Length': Buffer.byteLength(t) });
    r.end(t);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}
