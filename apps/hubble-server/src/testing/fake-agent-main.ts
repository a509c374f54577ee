#!/usr/bin/env node
// A fake agent as a process, for tests and benchmarks that run hubble-server as a process
// (hubble-server's own, and hubble-relay's, which may not import this app):
//   node dist/testing/fake-agent-main.js --socket /tmp/a.sock [--socket /tmp/b.sock] [--interval-ms 20]
// Prints `ready` once every socket listens. With --interval-ms each socket's agent sends one
// record per interval, stamped with the wall clock. Commands on stdin, one per line:
//   `blast <count>`  send <count> records to every subscriber of every socket as fast as they
//                    are accepted; prints `blasted <count>` when done
//   `subscribers`    prints `subscribers <n,n,...>` (Monitor subscribers per socket)
//   `pause` / `resume`  stop / restart the interval ticks
// Exits when stdin closes or on SIGTERM.
import { createInterface } from 'node:readline';
import { buildPacket, encodeDatapathRecord } from '@cilium-ts/flow';
import { FakeAgent } from './fake-agent.js';

/** Wall-clock nanoseconds with hrtime resolution. */
const wallOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = (): bigint => process.hrtime.bigint() + wallOffset;

/** A few realistic records: TCP SYN/SYN-ACK traces, a UDP policy drop, an ICMP verdict. */
function sampleRecords(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    const sport = 30000 + i;
    out.push(encodeDatapathRecord({
      type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 257, ifindex: 7,
      packet: buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', l4: { kind: 'tcp', sourcePort: sport, destinationPort: 80, flags: { SYN: true } } }),
    }));
    out.push(encodeDatapathRecord({
      type: 4, subType: 0, source: 101, isReply: true, srcIdentity: 257, dstIdentity: 256, ifindex: 7,
      packet: buildPacket({ src: '10.0.1.9', dst: '10.0.1.5', l4: { kind: 'tcp', sourcePort: 80, destinationPort: sport, flags: { SYN: true, ACK: true } } }),
    }));
    out.push(encodeDatapathRecord({
      type: 1, subType: 133, source: 101, srcIdentity: 300, dstIdentity: 256,
      packet: buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', l4: { kind: 'udp', sourcePort: sport, destinationPort: 53 } }),
    }));
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sockets: string[] = [];
  let intervalMs = 0;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--socket') sockets.push(args[++i]!);
    else if (args[i] === '--interval-ms') intervalMs = Number(args[++i]);
    else throw new Error(`fake-agent: unknown argument "${args[i]}"; use --socket PATH and --interval-ms N`);
  }
  if (sockets.length === 0) throw new Error('fake-agent: give at least one --socket PATH');
  const records = sampleRecords();
  const agents = await Promise.all(sockets.map((s) => FakeAgent.start(s, {
    endpoints: [{ id: 101, ipv4: '10.0.1.5', identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'], hostIfindex: 7, hostIfname: 'lxcxwing' }],
  })));
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
    } else if (cmd === 'subscribers') {
      process.stdout.write(`subscribers ${agents.map((a) => a.subscribers).join(',')}\n`);
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
