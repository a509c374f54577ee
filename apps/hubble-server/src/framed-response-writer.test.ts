import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { FramedResponseWriter } from './framed-response-writer.js';
import { collect, waitUntil } from './testing/grpc-helpers.js';

/** The i-th response the test server sends (distinct node names and times, some long). */
function response(i: number, big: boolean): Uint8Array {
  const nodeName = big && i % 500 === 7 ? `node-${i}-${'x'.repeat(100_000)}` : `node-${i}`;
  return observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ nodeName, time: { seconds: BigInt(i), nanos: i } })).finish();
}

describe('FramedResponseWriter over a real grpc-js server', () => {
  let dir: string;
  let server: Server;
  let client: observer.ObserverClient;
  /** Per call: how it ended on the server side ('ended' | 'closed'). */
  const outcomes: string[] = [];

  /** Sends `number` responses (whitelist non-empty: include some of 100 KB) through the writer, honouring back-pressure. */
  async function serve(call: ServerWritableStream<observer.GetFlowsRequest, Uint8Array>): Promise<void> {
    const writer = FramedResponseWriter.attach(call as ServerWritableStream<unknown, unknown>);
    assert.ok(writer, 'grpc-js internals found');
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort());
    const n = Number(call.request.number);
    const big = call.request.whitelist.length > 0;
    for (let i = 0; i < n; i++) {
      if (writer.closed) {
        outcomes.push('closed');
        return;
      }
      if (!writer.push(response(i, big)) && !writer.flush()) await writer.drained(ac.signal);
    }
    if (!writer.flush()) await writer.drained(ac.signal);
    call.end();
    outcomes.push('ended');
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `cts-framed-${process.pid}-`));
    server = new Server();
    const def = observer.ObserverService.getFlows;
    server.addService({ getFlows: { ...def, responseSerialize: (b: Uint8Array) => Buffer.from(b) } }, { getFlows: (call: ServerWritableStream<observer.GetFlowsRequest, Uint8Array>) => void serve(call) });
    const address = `unix://${join(dir, 's.sock')}`;
    await new Promise<void>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    client = new observer.ObserverClient(address, credentials.createInsecure());
  });

  after(() => {
    client?.close();
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('many responses (several batches, back-pressure, messages larger than a batch) arrive whole and in order', async () => {
    const n = 3000;
    const got = await collect(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: BigInt(n), whitelist: [{}] })));
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) assert.deepEqual(observer.GetFlowsResponse.encode(got[i]!).finish(), response(i, true), `response ${i}`);
    assert.equal(outcomes.at(-1), 'ended');
  });

  test('no responses: the call still ends OK', async () => {
    assert.deepEqual(await collect(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 0n }))), []);
  });

  test('a client that cancels mid-stream: the writer sees the stream closed and stops', async () => {
    const before = outcomes.length;
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 10_000_000n }));
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      let seen = 0;
      stream.on('data', () => {
        if (++seen === 1000) {
          stream.cancel();
          resolve();
        }
      });
    });
    await waitUntil('the server side to stop writing', () => outcomes.length > before);
    assert.equal(outcomes.at(-1), 'closed', JSON.stringify(outcomes));
  });

  test('attach: undefined when the call lacks the grpc-js internals it needs', () => {
    assert.equal(FramedResponseWriter.attach({} as ServerWritableStream<unknown, unknown>), undefined);
    assert.equal(FramedResponseWriter.attach({ call: { maybeSendMetadata() {} } } as unknown as ServerWritableStream<unknown, unknown>), undefined);
  });
});
