import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { EventType } from './event-record.js';
import { buildPacket } from './testing/packet-builder.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

describe('ring buffer overflow is counted and reported as lost', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('lost')}`;
  let dp: Datapath;
  let reader: EventReader | undefined;
  // Every run of this frame is a policy drop: a verdict and a drop record (176 bytes each).
  const frame = buildPacket({ src: '10.3.0.1', dst: '10.3.0.2', protocol: 'udp', dport: 9 });

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir });
    dp.loadEndpoint({ id: 3, identity: 500, hostIfindex: 1, ipv4: '10.3.0.1', ingressEnforced: true, egressEnforced: true }, []);
  });
  after(async () => {
    await reader?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('records that do not fit are counted in events_lost; a reader then drains the backlog', async () => {
    assert.equal(dp.eventsLost(), 0n);
    // 6000 records of 184 bytes (with the ring's header) cannot fit in 512 KiB unread.
    assert.equal(dp.testRun(3, 'from-container', frame, { repeat: 3000 }).retval, 2);
    assert.ok(dp.eventsLost() > 0n, 'overflow was counted');
    reader = dp.events({ pollMs: 50 });
    const first = new Promise<Buffer>((resolve) => reader!.once('event', resolve));
    await reader.ready();
    const rec = await first;
    assert.ok([EventType.drop, EventType.policyVerdict].includes(rec[0] as 1 | 5));
  });

  test("the reader emits 'lost' when the kernel outruns it", async () => {
    let lost = 0;
    reader!.on('lost', (n: number) => { lost += n; });
    for (let burst = 0; burst < 20 && lost === 0; burst++) {
      dp.testRun(3, 'from-container', frame, { repeat: 20000 });
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(lost > 0, "a 'lost' event arrived");
  });
});
