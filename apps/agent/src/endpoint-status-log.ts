/**
 * Each endpoint's status log (`cilium endpoint log ID`): what happened to it and when —
 * created, restored, regenerated, identity changed, labels changed, option changed —
 * newest last, bounded per endpoint like Cilium's (older entries fall off).
 */

/** Entries kept per endpoint. */
export const MaxEndpointLogEntries = 64;

/** One status change. */
export interface EndpointLogEntry {
  /** Wall-clock time, ms since the epoch. */
  timeMs: number;
  code: 'OK' | 'Failure';
  /** The endpoint's state after it. */
  state: string;
  message: string;
}

/** The status logs of every endpoint of the node. */
export class EndpointStatusLog {
  private readonly logs = new Map<number, EndpointLogEntry[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Appends an entry to endpoint id's log. */
  record(id: number, code: EndpointLogEntry['code'], state: string, message: string): void {
    let log = this.logs.get(id);
    if (!log) this.logs.set(id, (log = []));
    log.push({ timeMs: this.now(), code, state, message });
    if (log.length > MaxEndpointLogEntries) log.splice(0, log.length - MaxEndpointLogEntries);
  }

  /** Endpoint id's log, oldest first (empty when it has none). */
  list(id: number): readonly EndpointLogEntry[] {
    return this.logs.get(id) ?? [];
  }

  /** Forgets endpoint id (deleted). */
  drop(id: number): void {
    this.logs.delete(id);
  }
}
