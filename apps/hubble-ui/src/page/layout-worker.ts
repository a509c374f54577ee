// The layout worker (a module Web Worker at /static/layout-worker.js): receives a
// LayoutRequest, lays it out with dagre (map-layout.ts) and posts the LayoutResult back, so
// the page's animation frames never wait for a layout. A failure is posted as {seq, error}.
import { layoutGraph, type Dagre, type LayoutRequest } from './map-layout.js';

const dagre = ((await import('/static/dagre.esm.js' as string)) as { default: Dagre }).default;

self.addEventListener('message', (ev: MessageEvent<LayoutRequest>) => {
  try {
    self.postMessage(layoutGraph(dagre, ev.data));
  } catch (err) {
    self.postMessage({ seq: ev.data.seq, error: `layout: ${(err as Error).message}` });
  }
});
self.postMessage({ ready: true });
