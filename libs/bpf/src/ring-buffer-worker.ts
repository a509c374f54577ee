// Worker thread that blocks in libbpf's ring_buffer__poll on the pinned `events` map
// and posts each record (trimmed to header + cap_len) to the main thread, plus the
// growth of the events_lost counter. The main thread never blocks or polls.
import { parentPort, workerData } from 'node:worker_threads';
import { BpfMap } from './bpf-map.js';
import { closeFd, objGet, RingBufferPoller } from './libbpf.js';
import { EVENT_HEADER_LEN, recordCapLen } from './event-record.js';
import { u32, u64 } from './map-codecs.js';

/** Data the EventReader hands its worker. */
export interface RingBufferWorkerData { eventsPin: string; lostPin: string; stop: SharedArrayBuffer; pollMs: number }

/** Messages from the worker. */
export type RingBufferWorkerMessage =
  | { kind: 'ready' }
  | { kind: 'records'; records: Uint8Array[] }
  | { kind: 'lost'; count: number }
  | { kind: 'error'; message: string; operation?: string; code?: string };

function main(): void {
  const data = workerData as RingBufferWorkerData;
  const stop = new Int32Array(data.stop);
  const port = parentPort!;
  let fd = -1;
  let poller: RingBufferPoller | undefined;
  let lost: BpfMap<number, bigint> | undefined;
  try {
    fd = objGet(data.eventsPin, 'ring buffer "events"');
    lost = BpfMap.openPinned(data.lostPin, 'events_lost', u32, u64, { perCpu: true });
    const sumLost = (): bigint => (lost!.lookupPerCpu(0) ?? []).reduce((a, b) => a + b, 0n);
    let lastLost = sumLost();
    let batch: Uint8Array[] = [];
    poller = new RingBufferPoller(fd, (rec) => {
      const cap = rec.length >= EVENT_HEADER_LEN ? recordCapLen(rec) : 0;
      batch.push(new Uint8Array(rec.subarray(0, Math.min(rec.length, EVENT_HEADER_LEN + cap))));
    });
    port.postMessage({ kind: 'ready' } satisfies RingBufferWorkerMessage);
    while (Atomics.load(stop, 0) === 0) {
      poller.poll(data.pollMs);
      if (batch.length > 0) {
        port.postMessage({ kind: 'records', records: batch } satisfies RingBufferWorkerMessage, batch.map((b) => b.buffer as ArrayBuffer));
        batch = [];
      }
      const nowLost = sumLost();
      if (nowLost !== lastLost) {
        port.postMessage({ kind: 'lost', count: Number(nowLost - lastLost) } satisfies RingBufferWorkerMessage);
        lastLost = nowLost;
      }
    }
  } catch (err) {
    const e = err as { message?: string; operation?: string; code?: string };
    port.postMessage({ kind: 'error', message: String(e.message ?? err), operation: e.operation, code: e.code } satisfies RingBufferWorkerMessage);
  } finally {
    poller?.close();
    lost?.close();
    closeFd(fd);
  }
}

main();
