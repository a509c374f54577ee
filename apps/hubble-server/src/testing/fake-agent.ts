// A fake cilium-ts agent for tests: serves cilium.agent.v1 Monitor and Metadata on a unix
// socket, sends a metadata snapshot, and lets the test push datapath records.
import { Metadata, Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { agent, timestampFromNanos, type Timestamp } from '@cilium-ts/api';

/** Records per batch the fake agent's blast sends to subscribers that asked for batches. */
export const FAKE_BATCH_RECORDS = 256;

function batchEvent(records: readonly Buffer[], timesNs: readonly bigint[], nodeName: string): agent.MonitorEvent {
  return agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timesNs[0] ?? 0n), nodeName, batch: { records: [...records], timeNs: [...timesNs] } });
}

/** The metadata snapshot the fake agent sends on every Watch. */
export interface FakeAgentSnapshot {
  endpoints?: agent.DeepPartial<agent.Endpoint>[];
  identities?: { id: number; labels: string[] }[];
  ipcache?: agent.DeepPartial<agent.IPCacheEntry>[];
  /** The cluster's nodes (peers of hubble-server). */
  nodes?: agent.DeepPartial<agent.Node>[];
}

/** A running fake agent. */
export class FakeAgent {
  private readonly monitors = new Set<ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>>();
  private readonly metadataWatchers = new Set<ServerWritableStream<agent.MetadataWatchRequest, agent.MetadataEvent>>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  /** Starts serving on `socketPath`. */
  static async start(socketPath: string, snapshot: FakeAgentSnapshot): Promise<FakeAgent> {
    const server = new Server();
    const address = `unix://${socketPath}`;
    const fake = new FakeAgent(server, address);
    server.addService(agent.MonitorService, {
      listen(call: ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>) {
        fake.monitors.add(call);
        call.sendMetadata(new Metadata());
        call.on('cancelled', () => fake.monitors.delete(call));
        call.on('close', () => fake.monitors.delete(call));
      },
    });
    server.addService(agent.MetadataService, {
      watch(call: ServerWritableStream<agent.MetadataWatchRequest, agent.MetadataEvent>) {
        fake.metadataWatchers.add(call);
        call.on('cancelled', () => fake.metadataWatchers.delete(call));
        call.on('close', () => fake.metadataWatchers.delete(call));
        for (const endpoint of snapshot.endpoints ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, endpoint }));
        for (const identity of snapshot.identities ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, identity }));
        for (const ipcache of snapshot.ipcache ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, ipcache }));
        for (const node of snapshot.nodes ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, node }));
        call.write(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.SYNCED }));
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return fake;
  }

  /** Number of Monitor.Listen subscribers that asked for batches. */
  get batchingSubscribers(): number {
    return [...this.monitors].filter((c) => c.request.batch).length;
  }

  /** Number of Monitor.Listen subscribers. */
  get subscribers(): number {
    return this.monitors.size;
  }

  /** Metadata Watch streams open now (each got the snapshot). */
  get watchers(): number {
    return this.metadataWatchers.size;
  }

  /** Sends a datapath record to every Monitor subscriber, stamped with `timeNs` (ns since the epoch). */
  sendRecord(record: Buffer, timeNs: bigint, nodeName = ''): void {
    this.send(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timeNs), nodeName, datapath: record }));
  }

  /** Sends any MonitorEvent. */
  send(event: agent.MonitorEvent): void {
    for (const call of this.monitors) call.write(event);
  }

  /**
   * Sends datapath records with their stamps as one batch (MonitorEvent.batch) to every
   * subscriber that asked for batches, and one message per record to the others.
   */
  sendBatch(records: readonly Buffer[], timesNs: readonly bigint[], nodeName = ''): void {
    const batch = batchEvent(records, timesNs, nodeName);
    for (const call of this.monitors) {
      if (call.request.batch) call.write(batch);
      else for (let i = 0; i < records.length; i++) call.write(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timesNs[i]!), nodeName, datapath: records[i] }));
    }
  }

  /**
   * Sends `count` datapath records (cycling through `records`) to every Monitor subscriber as
   * fast as their streams accept them (waits for 'drain' when a write is refused), each
   * stamped with `stamp()` at send time. Subscribers that asked for batches get them as a
   * batching agent under load would: full batches of FAKE_BATCH_RECORDS (the last one
   * shorter). Resolves when all are written.
   */
  async blast(records: readonly Buffer[], count: number, stamp: () => bigint): Promise<void> {
    const calls = [...this.monitors];
    for (let i = 0; i < count; ) {
      const n = Math.min(FAKE_BATCH_RECORDS, count - i);
      const chunk: Buffer[] = [];
      const times: bigint[] = [];
      for (let j = 0; j < n; j++) {
        chunk.push(records[(i + j) % records.length]!);
        times.push(stamp());
      }
      i += n;
      let batch: agent.MonitorEvent | undefined;
      for (const call of calls) {
        if (call.writableEnded || call.destroyed) continue;
        if (call.request.batch) {
          batch ??= batchEvent(chunk, times, '');
          if (!call.write(batch)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
          continue;
        }
        for (let j = 0; j < n; j++) {
          const event = agent.MonitorEvent.fromPartial({ time: timestampFromNanos(times[j]!), datapath: chunk[j] });
          if (!call.write(event)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
        }
      }
    }
  }

  /** Sends a Metadata event (an upsert or delete of one item) to every Watch subscriber. */
  sendMetadata(event: agent.DeepPartial<agent.MetadataEvent>): void {
    for (const call of this.metadataWatchers) call.write(agent.MetadataEvent.fromPartial(event));
  }

  /** Sends an agent event. */
  sendAgentEvent(type: number, json: string, time: Timestamp): void {
    this.send(agent.MonitorEvent.fromPartial({ time, agent: { type, json } }));
  }

  /** Stops at once, cutting open streams (as an agent crash or restart would). */
  stop(): void {
    this.server.forceShutdown();
    this.monitors.clear();
    this.metadataWatchers.clear();
  }
}
