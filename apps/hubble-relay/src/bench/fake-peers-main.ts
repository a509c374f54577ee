#!/usr/bin/env node
// Fake hubble-servers for the relay benchmark, all in one process: each socket serves
// observer.Observer/GetFlows by writing the same pre-encoded GetFlowsResponse frames (a
// realistic flow, the node's name, times that interleave across nodes) in 64 KiB slices,
// honouring HTTP/2 back-pressure, then status OK. They cost next to nothing per flow, so the
// benchmark measures what sits between them and the client. Prints `ready` when listening.
//   node dist/bench/fake-peers-main.js --flows-per-peer 50000 --socket /tmp/a.sock --socket /tmp/b.sock
import { createServer, constants, type ServerHttp2Stream } from 'node:http2';
import { rmSync } from 'node:fs';
import { benchFrames } from './bench-flows.js';

const SLICE = 64 * 1024;

function serve(stream: ServerHttp2Stream, frames: Buffer): void {
  stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
  stream.on('error', () => undefined);
  let off = 0;
  const pump = (): void => {
    while (off < frames.length && !stream.destroyed) {
      const slice = frames.subarray(off, Math.min(frames.length, off + SLICE));
      off += slice.length;
      if (!stream.write(slice)) {
        stream.once('drain', pump);
        return;
      }
    }
    if (!stream.destroyed) stream.end();
  };
  pump();
}

function main(): void {
  const sockets: string[] = [];
  let perPeer = 50_000;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--socket') sockets.push(argv[i + 1]!);
    else if (argv[i] === '--flows-per-peer') perPeer = Number(argv[i + 1]);
    else throw new Error(`fake-peers: unknown argument "${argv[i]}"`);
  }
  const t0 = BigInt(Math.floor(Date.now() / 1000)) - 60n;
  let listening = 0;
  sockets.forEach((path, i) => {
    const frames = benchFrames(`node-${i + 1}`, i, sockets.length, perPeer, t0);
    const server = createServer();
    server.on('stream', (stream, headers) => {
      if (headers[constants.HTTP2_HEADER_PATH] === '/observer.Observer/GetFlows') {
        // The request is read and ignored: every call gets the whole set.
        stream.resume();
        serve(stream, frames);
      } else {
        stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      }
    });
    rmSync(path, { force: true });
    server.listen(path, () => {
      if (++listening === sockets.length) process.stdout.write('ready\n');
    });
  });
  process.on('SIGTERM', () => process.exit(0));
}

main();
