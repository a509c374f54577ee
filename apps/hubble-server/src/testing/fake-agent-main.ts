#!/usr/bin/env node
// The fake agent (@cilium-ts/agent/testing) as a process, for tests and benchmarks that run hubble-server as a process
// (hubble-server's own, and hubble-relay's, which may not import this app):
//   node dist/testing/fake-agent-main.js --socket /tmp/a.sock [--socket /tmp/b.sock] [--interval-ms 20]
//     [--records sample|compat]
// --records picks the records and metadata: `sample` (default: 192 TCP/UDP records of one
// endpoint, sample-records.ts) or `compat` (the varied set of compat-records.ts).
// Prints `ready` once every socket listens. With --interval-ms each socket's agent sends one
// record per interval, stamped with the wall clock. Commands on stdin, one per line:
//   `blast <count>`  send <count> records to every subscriber of every socket as fast as they
//                    are accepted; prints `blasted <count>` when done
//   `rate <per-second> <count>`  send <count> records to every subscriber at that rate;
//                    prints `rated <count>` when done
//   `subscribers`    prints `subscribers <n,n,...>` (Monitor subscribers per socket)
//   `watchers`       prints `watchers <n,n,...>` (Metadata Watch streams per socket)
//   `pause` / `resume`  stop / restart the interval ticks
// Exits when stdin closes or on SIGTERM.
import { createInterface } from 'node:readline';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { COMPAT_SNAPSHOT, compatRecords } from './compat-records.js';
import { SAMPLE_ENDPOINT, sampleRecords } from './sample-records.js';

/** Wall-clock nanoseconds with hrtime resolution. */
const wallOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = (): bigint => process.hrtime.bigint() + wallOffset;

/** Sends `count` records at `perSecond` (in 5 ms batches, catching up when late). */
async function paced(agents: FakeAgent[], records: Buffer[], perSecond: number, count: number): Promise<void> {
  const start = Date.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((Date.now() - start) * perSecond) / 1000));
    if (due > sent) {
      await Promise.all(agents.map((a) => a.blast(records, due - sent, nowNs)));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sockets: string[] = [];
  let intervalMs = 0;
  let set = 'sample';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--socket') sockets.push(args[++i]!);
    else if (args[i] === '--interval-ms') intervalMs = Number(args[++i]);
    else if (args[i] === '--records') set = args[++i] ?? '';
    else throw new Error(`fake-agent: unknown argument "${args[i]}"; use --socket PATH, --interval-ms N and --records sample|compat`);
  }
  if (sockets.length === 0) throw new Error('fake-agent: give at least one --socket PATH');
  if (set !== 'sample' && set !== 'compat') throw new Error(`fake-agent: --records "${set}" is not a record set; use sample or compat`);
  const records = set === 'compat' ? compatRecords() : sampleRecords();
  const snapshot = set === 'compat' ? COMPAT_SNAPSHOT : { endpoints: [SAMPLE_ENDPOINT] };
  const agents = await Promise.all(sockets.map((s) => FakeAgent.start(s, { snapshot })));
  let ticking = intervalMs > 0;
  let seq = 0;
  const timer = intervalMs > 0
    ? setInterval(() => {
        if (!ticking) return;
        const rec = records[seq++ % records.length]!;
        for (const a of agents) a.sendRecord(rec, nowNs());
      }, intervalMs)
    : undefined;
  const stop = (): void => {
    clearInterval(timer);
    for (const a of agents) a.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  const rl = createInterface({ input: process.stdin });
  rl.on('close', stop);
  rl.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'blast') {
      const count = Number(arg);
      void Promise.all(agents.map((a) => a.blast(records, count, nowNs))).then(() => process.stdout.write(`blasted ${count}\n`));
    } else if (cmd === 'rate') {
      const [perSecond, count] = [Number(arg), Number(line.trim().split(/\s+/)[2])];
      void paced(agents, records, perSecond, count).then(() => process.stdout.write(`rated ${count}\n`));
    } else if (cmd === 'subscribers') {
      process.stdout.write(`subscribers ${agents.map((a) => a.subscribers).join(',')}\n`);
    } else if (cmd === 'watchers') {
      process.stdout.write(`watchers ${agents.map((a) => a.watchers).join(',')}\n`);
    } else if (cmd === 'pause') {
      ticking = false;
    } else if (cmd === 'resume') {
      ticking = intervalMs > 0;
    }
  });
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
