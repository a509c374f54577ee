import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createLogger } from '@cilium-ts/process';
import { HttpListener, type AccessRecord, type ConnectionContext } from './http-listener.js';
import { closed, readResponse } from './testing/http-response.js';


describe('HttpListener', () => {
  const logger = createLogger('proxy-test', { level: 'error' });
  let upstream: http.Server;
  let upstreamPort = 0;
  const seen: string[] = [];
  let listener: HttpListener;
  let port = 0;
  let context: ConnectionContext | undefined;
  const records: AccessRecord[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}${body ? ` ${body}` : ''}`);
        const text = `hello ${req.url} from ${req.headers['x-who'] ?? 'anyone'}`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text), 'X-Upstream': '1' });
        res.end(text);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as net.AddressInfo).port;
    listener = new HttpListener({ port: 0, logger, resolve: () => context, onRecord: (r) => records.push(r), maxHeaderSize: 4096 });
    port = await listener.listen();
  });
  after(async () => {
    await listener.close();
    await new Promise((r) => upstream.close(r));
  });

  const ctx = (rules: ConnectionContext['policy']): ConnectionContext => ({
    endpointId: 7,
    direction: 'ingress',
    source: { address: '127.0.0.1', port: 1, identity: 5001 },
    destination: { address: '127.0.0.1', port: upstreamPort, identity: 5002 },
    policy: rules,
    upstream: { address: '127.0.0.1', port: upstreamPort },
  });
  const publicOnly = { allowAll: false, rules: { http: [{ method: 'GET', path: '/public(/.*)?' }, { method: 'POST', path: '/submit', headers: ['X-Who'] }] } };
  const connect = async (): Promise<net.Socket> => {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return s;
  };

  test('allowed requests reach the upstream, denied ones get 403 Access denied, on the same keep-alive connection', async () => {
    context = ctx(publicOnly);
    seen.length = 0;
    records.length = 0;
    const s = await connect();
    try {
      s.write('GET /public HTTP/1.1\r\nHost: web\r\nX-Who: a\r\n\r\n');
      const r1 = await readResponse(s);
      assert.equal(r1.status, 200);
      assert.equal(r1.body, 'hello /public from a');
      assert.equal(r1.headers['x-upstream'], '1');
      s.write('GET /private HTTP/1.1\r\nHost: web\r\n\r\n');
      const r2 = await readResponse(s);
      assert.equal(r2.status, 403);
      assert.equal(r2.body, 'Access denied');
      s.write('POST /submit HTTP/1.1\r\nHost: web\r\nContent-Length: 3\r\n\r\nabc');
      assert.equal((await readResponse(s)).status, 403, 'the POST rule needs X-Who');
      s.write('POST /submit HTTP/1.1\r\nHost: web\r\nX-Who: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n');
      const r4 = await readResponse(s);
      assert.equal(r4.status, 200);
      s.write('GET /public/x HTTP/1.1\r\nHost: web\r\n\r\n');
      assert.equal((await readResponse(s)).body, 'hello /public/x from anyone');
      assert.equal(r4.closed, false);
    } finally {
      s.destroy();
    }
    assert.deepEqual(seen, ['GET /public', 'POST /submit xyz', 'GET /public/x']);
    assert.deepEqual(records.filter((r) => r.type === 'response').map((r) => `${r.verdict} ${r.method} ${r.url} ${r.code}`), [
      'forwarded GET /public 200', 'denied GET /private 403', 'denied POST /submit 403', 'forwarded POST /submit 200', 'forwarded GET /public/x 200',
    ]);
  });

  test('a peer without rules is denied; an allowAll peer passes everything', async () => {
    seen.length = 0;
    context = ctx(undefined);
    let s = await connect();
    s.write('GET /public HTTP/1.1\r\nHost: web\r\n\r\n');
    assert.equal((await readResponse(s)).status, 403);
    s.destroy();
    context = ctx({ allowAll: true, rules: {} });
    s = await connect();
    s.write('DELETE /anything HTTP/1.1\r\nHost: web\r\n\r\n');
    assert.equal((await readResponse(s)).status, 200);
    s.destroy();
    assert.deepEqual(seen, ['DELETE /anything']);
  });

  test('a connection with no policy (unknown endpoint or port) is closed, fail closed', async () => {
    context = undefined;
    seen.length = 0;
    const s = await connect();
    s.write('GET /public HTTP/1.1\r\nHost: web\r\n\r\n');
    await closed(s);
    assert.deepEqual(seen, []);
  });

  for (const [name, raw] of [
    ['conflicting Content-Length and Transfer-Encoding', 'POST /public HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /private HTTP/1.1\r\nHost: web\r\n\r\n'],
    ['two Content-Length values', 'POST /public HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd'],
    ['obs-fold', 'GET /public HTTP/1.1\r\nHost: web\r\nX-Who: a\r\n b\r\n\r\n'],
    ['an over-long header', `GET /public HTTP/1.1\r\nHost: web\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`],
    ['a bare LF line ending', 'GET /public HTTP/1.1\nHost: web\n\n'],
    ['a space before the colon', 'GET /public HTTP/1.1\r\nHost : web\r\n\r\n'],
  ] as const) {
    test(`malformed request (${name}) gets 400 and the connection is closed; nothing reaches the upstream`, { timeout: 20_000 }, async () => {
      context = ctx({ allowAll: true, rules: {} });
      seen.length = 0;
      const s = await connect();
      s.write(raw);
      const r = await readResponse(s);
      assert.equal(r.status, 400, r.body);
      await closed(s);
      assert.deepEqual(seen, []);
    });
  }
});
