// The Hubble UI page: namespace selector, service map (dagre layout in a worker, SVG),
// flows table with filters, relay status. Live: flows arrive in batches from the backend and
// wait in `incoming`; each animation frame takes them in and makes at most one update: of
// the map or of the table (counts every REFRESH_EVERY_MS; the table waits for a frame in
// which the map did nothing, unless a filter or a click changed it). A new workload or pair asks
// the layout worker for a layout; the map keeps its previous positions until it arrives.
import { Feed } from './feed.js';
import type { FlowView } from './flow-view.js';
import { FlowsTable } from './flows-table.js';
import { LayoutClient, type MapLayout } from './layout-client.js';
import { ServiceMap } from './map-model.js';
import { MapView } from './map-render.js';

const REFRESH_EVERY_MS = 250;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const map = new ServiceMap();
const table = new FlowsTable($<HTMLTableSectionElement>('flows-body'), $('flows-count'), {
  scroll: $('flows-scroll'),
  spacer: $('flows-spacer'),
  rows: $('flows-rows'),
});
const status = $('relay-status');
let requested = -1;
let drawnVersion = -1;
let lastRefresh = 0;
let lastTable = 0;
let tableDirty = true;
/** The table is redrawn in the next frame, not after REFRESH_EVERY_MS (a filter or selection changed). */
let tableNow = true;
let droppedTotal = 0;
/** Flows received since the last frame. */
let incoming: FlowView[] = [];
/** A layout that arrived and is drawn in the next frame. */
let arrived: MapLayout | undefined;
/** Stats for tests and the benchmark. */
const stats = { layouts: 0, lastLayoutMs: 0, lastLayoutMode: '', laidOutVersion: -1, mapDraws: 0 };

const view = new MapView($('map'), (edgeId) => {
  view.select(edgeId);
  table.filter.edge = edgeId;
  $('edge-selection').textContent = edgeId ? `edge ${edgeId} (click the map background to clear)` : '';
  tableDirty = tableNow = true;
});

const layouts = new LayoutClient(
  (layout, version) => {
    arrived = layout;
    stats.layouts++;
    stats.lastLayoutMs = layout.ms;
    stats.lastLayoutMode = layout.mode;
    stats.laidOutVersion = version;
  },
  (message) => setStatus('unavailable', message),
);

function setStatus(state: string, message: string): void {
  status.dataset.state = state;
  status.textContent =
    state === 'connected' ? 'relay connected' : state === 'connecting' ? 'connecting to the relay…' : message || state;
}

const feed = new Feed({
  onFlows(flows: FlowView[], dropped: number) {
    if (flows.length > 0) incoming = incoming.length === 0 ? flows : incoming.concat(flows);
    droppedTotal += dropped;
    if (dropped > 0) $('dropped').textContent = `${droppedTotal} flows not shown (the page fell behind)`;
  },
  onState: setStatus,
});

async function loadNamespaces(): Promise<void> {
  const select = $<HTMLSelectElement>('namespace');
  try {
    const res = await fetch('/api/namespaces');
    const body = (await res.json()) as { namespaces?: { cluster: string; namespace: string }[]; error?: string };
    if (!res.ok) throw new Error(body.error ?? res.statusText);
    const current = select.value;
    const names = [...new Set((body.namespaces ?? []).map((n) => n.namespace))];
    if (current !== '' && !names.includes(current)) names.push(current);
    select.replaceChildren(new Option('all namespaces', ''), ...names.sort().map((n) => new Option(n, n)));
    select.value = current;
  } catch (err) {
    setStatus('unavailable', `namespaces: ${(err as Error).message}`);
  }
}

function frame(now: number): void {
  if (incoming.length > 0) {
    for (const f of incoming) {
      map.add(f);
      table.add(f);
    }
    incoming = [];
    tableDirty = true;
  }
  if (map.topologyVersion !== requested) {
    requested = map.topologyVersion;
    layouts.request(map);
  }
  let mapWorked = false;
  if (arrived !== undefined) {
    view.draw(map, arrived);
    arrived = undefined;
    stats.mapDraws++;
    drawnVersion = map.version;
    lastRefresh = now;
    mapWorked = true;
  } else if (map.version !== drawnVersion && now - lastRefresh >= REFRESH_EVERY_MS) {
    view.refresh(map);
    drawnVersion = map.version;
    lastRefresh = now;
    mapWorked = true;
  }
  if (tableDirty && (tableNow || (!mapWorked && now - lastTable >= REFRESH_EVERY_MS))) {
    table.render();
    tableDirty = tableNow = false;
    lastTable = now;
  }
  requestAnimationFrame(frame);
}

// Scrolling the table shows other rows: rendered in the next frame.
$('flows-scroll').addEventListener('scroll', () => (tableDirty = tableNow = true), { passive: true });

for (const key of ['verdict', 'namespace-filter', 'pod', 'port', 'protocol'] as const) {
  $<HTMLInputElement>(`filter-${key}`).addEventListener('input', (ev) => {
    const v = (ev.target as HTMLInputElement).value.trim();
    const k = key === 'namespace-filter' ? 'namespace' : key;
    table.filter[k] = k === 'verdict' ? v.toUpperCase() : k === 'protocol' ? v.toLowerCase() : v;
    tableDirty = tableNow = true;
  });
}

$<HTMLSelectElement>('namespace').addEventListener('change', (ev) => {
  const ns = (ev.target as HTMLSelectElement).value;
  incoming = [];
  map.clear();
  // Clear the drawing now; the old layout (or one still in the worker) draws no workload of the new map.
  arrived = { nodes: new Map(), edges: new Map(), width: 0, height: 0, mode: 'full', ms: 0 };
  table.clear();
  view.select(undefined);
  table.filter.edge = undefined;
  tableDirty = tableNow = true;
  feed.open(ns);
});

setStatus('connecting', '');
feed.open('');
void loadNamespaces();
setInterval(() => void loadNamespaces(), 10_000);
/** For the e2e test and the benchmark: the model, the stats, and the feed's entry (flows as if the backend sent them). */
(window as unknown as { hubbleUi: unknown }).hubbleUi = { map, table, stats, receive: (flows: FlowView[]) => feed.handlers.onFlows(flows, 0) };
requestAnimationFrame(frame);
