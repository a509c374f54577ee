import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Http2Server } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { RawChannel } from './raw-channel.js';
import { grpcMessageFrame } from './raw-grpc.js';
import { RawCallError, rawUnaryCall } from './raw-unary-call.js';

describe('rawUnaryCall and RawChannel.connect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-raw-unary-'));
  const socket = join(dir, 'h2.sock');
  let server: Http2Server;
  let sessions = 0;
  const timeouts: string[] = [];

  before(async () => {
    server = createServer();
    server.on('session', (session) => {
      sessions++;
      session.on('error', () => undefined);
    });
    // The method name says how to answer; /echo answers the request's bytes reversed.
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      timeouts.push(String(headers['grpc-timeout']));
      const path = String(headers[':path']);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const req = Buffer.concat(chunks).subarray(5);
        if (path === '/t.S/Silent') return;
        if (path === '/t.S/Denied') {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(Status.PERMISSION_DENIED), 'grpc-message': 'no%20way' }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        if (path === '/t.S/Echo') stream.write(grpcMessageFrame(Buffer.from([...req].reverse())));
        if (path === '/t.S/Twice') {
          stream.write(grpcMessageFrame(Buffer.from('a')));
          stream.write(grpcMessageFrame(Buffer.from('b')));
        }
        stream.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers, fails with the status, and shares the one connection with every call', async () => {
    const channel = new RawChannel({ target: `unix://${socket}` });
    const before = sessions;
    await channel.connect(2000);
    const call = (path: string, timeoutMs = 2000): Promise<Buffer> => rawUnaryCall({ channel, path, request: Buffer.from('abc'), timeoutMs });
    const answers = await Promise.all([call('/t.S/Echo'), call('/t.S/Echo'), call('/t.S/Echo')]);
    assert.deepEqual(answers.map(String), ['cba', 'cba', 'cba']);
    const failure = (code: number, text: RegExp) => (e: unknown) => e instanceof RawCallError && e.code === code && text.test(e.message);
    await assert.rejects(call('/t.S/Denied'), failure(Status.PERMISSION_DENIED, /^\/t\.S\/Denied: rpc error: code = PermissionDenied desc = no way$/));
    await assert.rejects(call('/t.S/Empty'), failure(Status.INTERNAL, /without a response message/));
    await assert.rejects(call('/t.S/Twice'), failure(Status.INTERNAL, /more than one response/));
    await assert.rejects(call('/t.S/Silent', 100), failure(Status.DEADLINE_EXCEEDED, /no answer within 100 ms/));
    assert.ok(timeouts.includes('100m'), 'the deadline is sent as grpc-timeout');
    assert.equal(sessions - before, 1, 'every call went over the one connection');
    assert.equal(channel.connections, 1);
    channel.close();
    await assert.rejects(call('/t.S/Echo'), failure(Status.UNAVAILABLE, /was closed/));
  });

  it('connect rejects for a target that does not answer, naming it', async () => {
    const missing = `unix://${join(dir, 'missing.sock')}`;
    const channel = new RawChannel({ target: missing });
    await assert.rejects(channel.connect(2000), (e: Error) => e.message.startsWith(`cannot connect to ${missing}: `));
    channel.close();
  });
});
