#!/usr/bin/env node
// Fake hubble-servers in a process of their own, for the relay's follow soak: each serves on a
// unix socket in DIR and gets a new flow every 5 ms (keeping the last 50, no request log, so
// their memory stays flat). Prints `ready <address>,<address>...`; on the stdin line
// `followers` it prints `followers <n>,<n>...` (open follow calls per node).
//   node dist/testing/fake-nodes-main.js <dir> <nodes>
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeHubble } from './fake-hubble.js';

async function main(): Promise<void> {
  const [dir, count] = [process.argv[2], Number(process.argv[3])];
  if (dir === undefined || !Number.isInteger(count) || count <= 0) throw new Error('fake-nodes: usage: fake-nodes-main.js <dir> <nodes>');
  const nodes = Array.from({ length: count }, (_, i) => new FakeHubble(`soak-${i + 1}`, join(dir, `soak-${i + 1}.sock`)));
  for (const f of nodes) await f.start();
  let t = 1_000;
  setInterval(() => {
    for (const f of nodes) {
      f.addFlow(t);
      if (f.flows.length > 50) f.flows.splice(0, f.flows.length - 50);
      f.requests.length = 0;
      f.requestMetadata.length = 0;
    }
    t++;
  }, 5);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'followers') process.stdout.write(`followers ${nodes.map((f) => f.followerCount).join(',')}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.write(`ready ${nodes.map((f) => f.address).join(',')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-nodes: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
