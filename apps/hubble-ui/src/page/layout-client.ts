// The page's side of the layout worker: request() sends the map's current workloads and
// pairs when none is being laid out (a newer topology waits for the running one, so at most
// one layout is in flight and the last one asked for always follows); the result is handed
// to onLayout, and the page keeps drawing the previous positions until then.
import type { LayoutRequest, LayoutResult } from './map-layout.js';
import type { ServiceMap } from './map-model.js';

/** The positions the page draws, as maps. */
export interface MapLayout {
  nodes: Map<string, { x: number; y: number }>;
  edges: Map<string, { x: number; y: number }[]>;
  width: number;
  height: number;
  mode: LayoutResult['mode'];
  ms: number;
}

/** layoutRequestOf is the worker's input for a map: its workloads and pairs with flow counts as weights. */
export function layoutRequestOf(map: ServiceMap, seq: number): LayoutRequest {
  return {
    seq,
    nodes: [...map.nodes.keys()],
    edges: [...map.edges.values()].map((e) => ({ id: e.id, source: e.source, target: e.target, weight: e.forwarded + e.dropped })),
  };
}

/** LayoutClient owns the worker. */
export class LayoutClient {
  private readonly worker = new Worker('/static/layout-worker.js', { type: 'module' });
  private seq = 0;
  private inFlight: { seq: number; version: number } | undefined;
  private pending: ServiceMap | undefined;
  private readonly ready: Promise<void>;

  /** onLayout gets each layout with the topology version it was made from. */
  constructor(private readonly onLayout: (layout: MapLayout, version: number) => void, private readonly onError: (message: string) => void) {
    this.ready = new Promise((resolve) => {
      this.worker.addEventListener('message', (ev: MessageEvent<LayoutResult | { seq: number; error: string } | { ready: true }>) => {
        const d = ev.data;
        if ('ready' in d) return resolve();
        const done = this.inFlight;
        this.inFlight = undefined;
        if ('error' in d) this.onError(d.error);
        else if (done !== undefined && d.seq === done.seq) {
          this.onLayout({ nodes: new Map(d.nodes), edges: new Map(d.edges), width: d.width, height: d.height, mode: d.mode, ms: d.ms }, done.version);
        }
        this.next();
      });
    });
    this.worker.addEventListener('error', (ev) => this.onError(`layout worker: ${ev.message}`));
  }

  /** request asks for a layout of the map (its topology when the worker is next free). */
  request(map: ServiceMap): void {
    this.pending = map;
    void this.ready.then(() => this.next());
  }

  private next(): void {
    if (this.inFlight !== undefined || this.pending === undefined) return;
    const map = this.pending;
    this.pending = undefined;
    this.inFlight = { seq: ++this.seq, version: map.topologyVersion };
    this.worker.postMessage(layoutRequestOf(map, this.seq));
  }
}
