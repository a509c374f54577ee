#!/usr/bin/env node
// The benchmark baseline as a process: a bare grpc-js server whose GetFlows streams `number`
// GetFlowsResponse messages encoded once up front (the same flows hubble-server makes from the
// sample records), with no decoding, buffering or filtering. Prints `ready` when listening.
//   node dist/bench/baseline-server.js --listen unix:///tmp/baseline.sock
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { agent, observer, timestampFromNanos } from '@cilium-ts/api';
import { Parser } from '@cilium-ts/flow';
import { MetadataCache } from '../metadata-cache.js';
import { SAMPLE_ENDPOINT, sampleRecords } from '../testing/sample-records.js';

/** The pre-encoded responses, cycled through. */
function encodedResponses(): Buffer[] {
  const metadata = new MetadataCache();
  metadata.apply(agent.MetadataEvent.fromPartial({ endpoint: SAMPLE_ENDPOINT }));
  const parser = new Parser({ nodeName: 'node-1', endpoints: metadata, identities: metadata, ipcache: metadata });
  const t0 = BigInt(Date.now()) * 1_000_000n;
  return sampleRecords().map((record, i) => {
    const time = timestampFromNanos(t0 + BigInt(i));
    const e = parser.decode(agent.MonitorEvent.fromPartial({ time, datapath: record }));
    if (e.kind !== 'flow') throw new Error('baseline: a sample record did not decode into a flow');
    return Buffer.from(observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ flow: e.flow, nodeName: e.nodeName, time })).finish());
  });
}

async function serveFlows(call: ServerWritableStream<observer.GetFlowsRequest, Buffer>, responses: Buffer[]): Promise<void> {
  let cancelled = false;
  call.on('cancelled', () => (cancelled = true));
  const n = Number(call.request.number);
  for (let i = 0; i < n && !cancelled; i++) {
    if (!call.write(responses[i % responses.length]!)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
  }
  if (!cancelled) call.end();
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--listen');
  const address = i >= 0 ? process.argv[i + 1] : undefined;
  if (!address) throw new Error('baseline-server: give --listen unix:///path or host:port');
  const responses = encodedResponses();
  const server = new Server();
  const def = observer.ObserverService.getFlows;
  server.addService(
    { getFlows: { ...def, responseSerialize: (b: Buffer) => b } },
    { getFlows: (call: ServerWritableStream<observer.GetFlowsRequest, Buffer>) => void serveFlows(call, responses) },
  );
  await new Promise<void>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  process.on('SIGTERM', () => {
    server.forceShutdown();
    process.exit(0);
  });
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
