import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRequire } from 'node:module';
import { credentials, Server, ServerCredentials, type ClientReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { FramedWriter, grpcCallInternals } from './framed-writer.js';

const GRPC_JS_VERSION = (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;

function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    stream.on('data', (m: T) => got.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(got));
  });
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The i-th response the test server sends (distinct node names and times, some long). */
function response(i: number, big: boolean): Uint8Array {
  const nodeName = big && i % 500 === 7 ? `node-${i}-${'x'.repeat(100_000)}` : `node-${i}`;
  return observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ nodeName, time: { seconds: BigInt(i), nanos: i } })).finish();
}

describe('FramedWriter over a real grpc-js server', () => {
  let dir: string;
  let server: Server;
  let client: observer.ObserverClient;
  /** Per call: how it ended on the server side ('ended' | 'closed'). */
  const outcomes: string[] = [];
  /** Per call: whether the grpc-js internals the writer needs were there. */
  const internalsSeen: boolean[] = [];

  /** Sends `number` responses (whitelist non-empty: include some of 100 KB) through the writer, honouring back-pressure. */
  async function serve(call: ServerWritableStream<observer.GetFlowsRequest, Uint8Array>): Promise<void> {
    internalsSeen.push(grpcCallInternals(call as ServerWritableStream<unknown, unknown>) !== undefined);
    const writer = FramedWriter.attach(call as ServerWritableStream<unknown, unknown>);
    if (writer === undefined) {
      call.end();
      return;
    }
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

  test(`grpc-js ${GRPC_JS_VERSION} still has the internals FramedWriter reaches into`, async () => {
    await collect(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 1n })));
    assert.deepEqual(
      internalsSeen,
      [true],
      `grpc-js ${GRPC_JS_VERSION} changed its server call internals (call.call.stream, call.call.maybeSendMetadata): ` +
        'FramedWriter would fall back to one grpc-js write per message (hubble-server and hubble-relay GetFlows several times slower); ' +
        'adapt libs/grpc/src/framed-writer.ts to the new internals or pin grpc-js',
    );
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
    assert.equal(FramedWriter.attach({} as ServerWritableStream<unknown, unknown>), undefined);
    assert.equal(FramedWriter.attach({ call: { maybeSendMetadata() {} } } as unknown as ServerWritableStream<unknown, unknown>), undefined);
  });
});
