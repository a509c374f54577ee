// Tracks the server's open streaming calls so that a graceful shutdown can end them
// with status OK instead of cutting them off.

/** The part of a grpc-js server-streaming or bidi call the tracker needs. */
export interface TrackableCall {
  end(): unknown;
  readonly writableEnded: boolean;
  on(event: 'close' | 'finish' | 'cancelled', listener: () => void): unknown;
}

/** Open streaming calls, and a signal aborted when the server starts shutting down. */
export class StreamTracker {
  private readonly calls = new Set<TrackableCall>();
  private readonly controller = new AbortController();

  /** Aborted when shutdown begins: long-running (follow) handlers stop on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Number of open tracked calls. */
  get size(): number {
    return this.calls.size;
  }

  /**
   * Tracks `call` until it finishes, closes or is cancelled. A call tracked after shutdown
   * began is ended at once. Returns a function that stops tracking it.
   */
  track(call: TrackableCall): () => void {
    if (this.controller.signal.aborted) {
      if (!call.writableEnded) call.end();
      return () => {};
    }
    this.calls.add(call);
    const untrack = () => this.calls.delete(call);
    call.on('finish', untrack);
    call.on('close', untrack);
    call.on('cancelled', untrack);
    return untrack;
  }

  /** Aborts the signal and ends every open call with status OK. */
  endAll(): void {
    if (!this.controller.signal.aborted) this.controller.abort();
    for (const call of [...this.calls]) {
      this.calls.delete(call);
      if (!call.writableEnded) call.end();
    }
  }
}
