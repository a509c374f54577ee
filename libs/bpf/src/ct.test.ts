import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import { buildPacket, TcpFlags } from './testing/packet-builder.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

const EP = 9;
const EP_IP = '10.9.0.9';
const PEER = '10.8.0.1';
const S = 1_000_000_000n;

describe('conntrack: TCP state from flags, timeouts and ctGc', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('ct')}`;
  let dp: Datapath;
  const out = (spec: Parameters<typeof buildPacket>[0]): number => dp.testRun(EP, 'from-container', buildPacket(spec)).retval;
  const into = (spec: Parameters<typeof buildPacket>[0]): number => dp.testRun(EP, 'to-container', buildPacket(spec)).retval;
  const entry = (sport: number) => dp.ctList().find((e) => e.sport === sport && e.endpointId === EP);

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0 });
    dp.ipcacheUpsert(`${PEER}/32`, 300);
    dp.loadEndpoint({ id: EP, identity: 900, hostIfindex: 1, ipv4: EP_IP, ingressEnforced: true, egressEnforced: true }, [
      { direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false },
      { direction: 'egress', identity: 300, protocol: 17, port: 53, deny: false },
    ]);
  });
  beforeEach(() => dp.ctFlush());
  after(() => {
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('flags of both directions accumulate; the reply marks the entry seen', () => {
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41000, dport: 80, tcpFlags: TcpFlags.syn }), 0);
    assert.equal(entry(41000)?.seenReply, false);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 80, dport: 41000, tcpFlags: TcpFlags.syn | TcpFlags.ack }), 0);
    const e = entry(41000)!;
    assert.equal(e.seenReply, true);
    assert.equal(e.tcpFlagsSeen, TcpFlags.syn | TcpFlags.ack);
    assert.equal(e.packets, 2n);
  });

  test('ctGc removes closing TCP after 10 s, unanswered SYNs and UDP after 60 s, established after 6 h', () => {
    out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41001, dport: 80, tcpFlags: TcpFlags.syn });
    into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 80, dport: 41001, tcpFlags: TcpFlags.syn | TcpFlags.ack });
    out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41002, dport: 80, tcpFlags: TcpFlags.syn });
    into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 80, dport: 41002, tcpFlags: TcpFlags.syn | TcpFlags.ack });
    out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41002, dport: 80, tcpFlags: TcpFlags.fin | TcpFlags.ack });
    out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41003, dport: 80, tcpFlags: TcpFlags.syn });
    out({ src: EP_IP, dst: PEER, protocol: 'udp', sport: 41004, dport: 53 });
    const now = process.hrtime.bigint();
    assert.deepEqual(dp.ctGc(now), { scanned: 4, deleted: 0 });
    assert.deepEqual(dp.ctGc(now + 11n * S), { scanned: 4, deleted: 1 });
    assert.equal(entry(41002), undefined, 'the FIN-closed connection went first');
    assert.deepEqual(dp.ctGc(now + 61n * S), { scanned: 3, deleted: 2 });
    assert.deepEqual(dp.ctList().map((e) => e.sport), [41001]);
    assert.deepEqual(dp.ctGc(now + 6n * 3600n * S + S), { scanned: 1, deleted: 1 });
  });

  test('Datapath.open runs ctGc periodically and reports each pass', async () => {
    const passes: Array<{ scanned: number; deleted: number }> = [];
    let gone!: () => void;
    const done = new Promise<void>((resolve) => (gone = resolve));
    const gc = await Datapath.open({ pinDir, ctGcIntervalMs: 50, ctTimeouts: { nonTcp: 0.05 }, onCtGc: (r) => {
      if (r instanceof Error) throw r;
      passes.push(r);
      if (r.deleted > 0) gone();
    } });
    const keepAlive = setInterval(() => undefined, 1000); // the GC timer is unref'd
    try {
      try {
        out({ src: EP_IP, dst: PEER, protocol: 'udp', sport: 41010, dport: 53 });
        assert.ok(entry(41010));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no GC pass deleted anything in 5 s: ${JSON.stringify(passes)}`)), 5000)))]);
        clearTimeout(timer);
        assert.equal(entry(41010), undefined, 'the idle UDP entry was collected');
      } finally {
        gc.close();
      }
      const n = passes.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(passes.length, n, 'close stops the timer');
    } finally {
      clearInterval(keepAlive);
    }
  });

  test('an RST closes the entry; a new SYN on the same tuple starts it over', () => {
    out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41005, dport: 80, tcpFlags: TcpFlags.syn });
    into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 80, dport: 41005, tcpFlags: TcpFlags.rst | TcpFlags.ack });
    const closed = entry(41005)!;
    assert.ok(closed.tcpFlagsSeen & TcpFlags.rst);
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41005, dport: 80, tcpFlags: TcpFlags.syn }), 0);
    const fresh = entry(41005)!;
    assert.equal(fresh.tcpFlagsSeen, TcpFlags.syn);
    assert.equal(fresh.seenReply, false);
    assert.ok(fresh.createdNs > closed.createdNs);
    assert.equal(dp.ctGc(process.hrtime.bigint() + 11n * S).deleted, 0, 'a restarted connection is not closing');
  });
});
