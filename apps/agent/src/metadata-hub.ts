/**
 * The state hubble-server needs (endpoints, identities and ipcache entries to enrich
 * flows; the cluster's nodes for its Peer service), served as a snapshot followed by
 * changes to every Metadata.Watch stream.
 */
import { agent, type lb } from '@cilium-ts/api';

type MetadataEvent = agent.MetadataEvent;

/** A source of the current snapshot. */
export interface MetadataSnapshot {
  endpoints(): agent.Endpoint[];
  identities(): agent.Identity[];
  ipcache(): agent.IPCacheEntry[];
  /** This node and the other nodes of the cluster (Nodes.ListNodes). */
  nodes(): agent.Node[];
  /** The cluster's services (none until the load balancer runs). */
  services?(): lb.LbService[];
}

/** A watcher's sink: returns false when it wants the writer to pause (events are then queued). */
export type MetadataSink = (ev: MetadataEvent) => boolean;

const MAX_QUEUE = 65536;

/** One watcher with its queue. */
class Watcher {
  readonly queue: MetadataEvent[] = [];
  paused = false;
  overflowed = false;
  constructor(
    readonly sink: MetadataSink,
    readonly onOverflow: () => void,
  ) {}
}

/** Fans metadata changes out to watchers. */
export class MetadataHub {
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly snapshot: MetadataSnapshot) {}

  /**
   * Adds a watcher and sends it the snapshot then SYNCED. `onOverflow` is called if the
   * watcher falls more than MAX_QUEUE events behind; it must then re-watch.
   */
  watch(sink: MetadataSink, onOverflow: () => void): { resume(): void; close(): void } {
    const w = new Watcher(sink, onOverflow);
    this.watchers.add(w);
    const send = (ev: MetadataEvent) => this.deliver(w, ev);
    for (const e of this.snapshot.identities()) send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.UPSERT, identity: e }));
    for (const e of this.snapshot.endpoints()) send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.UPSERT, endpoint: e }));
    for (const e of this.snapshot.ipcache()) send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.UPSERT, ipcache: e }));
    for (const e of this.snapshot.nodes()) send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.UPSERT, node: e }));
    for (const e of this.snapshot.services?.() ?? []) send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.UPSERT, service: e }));
    send(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.SYNCED }));
    return {
      resume: () => {
        w.paused = false;
        while (!w.paused && w.queue.length > 0) w.paused = !w.sink(w.queue.shift()!);
      },
      close: () => this.watchers.delete(w),
    };
  }

  /** Publishes an upsert or delete of one item. */
  publish(kind: 'upsert' | 'delete', item: { endpoint?: agent.Endpoint; identity?: agent.Identity; ipcache?: agent.IPCacheEntry; node?: agent.Node; service?: lb.LbService }): void {
    const ev = agent.MetadataEvent.fromPartial({
      kind: kind === 'upsert' ? agent.MetadataEvent_Kind.UPSERT : agent.MetadataEvent_Kind.DELETE,
      ...item,
    });
    for (const w of this.watchers) this.deliver(w, ev);
  }

  private deliver(w: Watcher, ev: MetadataEvent): void {
    if (w.overflowed) return;
    if (w.paused) {
      if (w.queue.length >= MAX_QUEUE) {
        w.overflowed = true;
        this.watchers.delete(w);
        w.onOverflow();
        return;
      }
      w.queue.push(ev);
      return;
    }
    w.paused = !w.sink(ev);
  }
}
