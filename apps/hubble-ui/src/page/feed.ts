// The page's side of the live feed: an EventSource on /api/flows with the chosen namespace;
// batches of flows and relay state changes are handed on. The browser reconnects by itself
// when the backend goes away; the page shows that meanwhile.
import type { FlowView } from './flow-view.js';

/** What the feed reports. */
export interface FeedHandlers {
  onFlows(flows: FlowView[], dropped: number): void;
  /** state: connected / unavailable / connecting (relay), or backend-lost. */
  onState(state: string, message: string): void;
}

/** Feed is one EventSource, replaced when the namespace changes. */
export class Feed {
  private source: EventSource | undefined;

  constructor(readonly handlers: FeedHandlers) {}

  /** open (re)opens the feed for a namespace ('' = all). */
  open(namespace: string): void {
    this.source?.close();
    const params = new URLSearchParams();
    if (namespace !== '') params.set('namespace', namespace);
    const source = new EventSource(`/api/flows${params.size > 0 ? `?${params}` : ''}`);
    this.source = source;
    source.addEventListener('flows', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { flows: FlowView[]; dropped: number };
      this.handlers.onFlows(data.flows, data.dropped);
    });
    source.addEventListener('relay', (ev) => {
      const s = JSON.parse((ev as MessageEvent<string>).data) as { state: string; message: string };
      this.handlers.onState(s.state, s.message);
    });
    source.addEventListener('error', () => {
      if (this.source === source) this.handlers.onState('backend-lost', 'the Hubble UI backend is unreachable; reconnecting');
    });
  }
}
