#!/usr/bin/env node
// Many `hubble observe -f` callers in one process, for the relay's soak test and benchmark:
// opens N follow-mode GetFlows calls to a relay, each on its own connection, prints `ready`
// once every call has received a flow, and then reads until it is killed (as the CLI is).
//   node dist/testing/follow-clients-main.js <relay target> <calls>
import { credentials } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';

function main(): void {
  const [target, count] = [process.argv[2], Number(process.argv[3])];
  if (target === undefined || !Number.isInteger(count) || count <= 0) {
    throw new Error('follow-clients: usage: follow-clients-main.js <relay target> <calls>');
  }
  let ready = 0;
  for (let i = 0; i < count; i++) {
    // A channel of its own per call: separate HTTP/2 connections, as separate CLI processes.
    const client = new observer.ObserverClient(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const call = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true, number: 20n }));
    let seen = false;
    call.on('data', (r: observer.GetFlowsResponse) => {
      if (seen || r.flow === undefined) return;
      seen = true;
      if (++ready === count) process.stdout.write('ready\n');
    });
    call.on('error', (err: Error) => {
      process.stderr.write(`follow-clients: call ${i} failed: ${err.message}\n`);
      process.exit(1);
    });
  }
}

main();
