// The Hubble UI page: namespace selector, service map (dagre layout, SVG), flows table with
// filters, relay status. Live: flows arrive in batches from the backend; drawing happens in
// animation frames, the layout only when the topology changed (at most every LAYOUT_EVERY_MS).
import { Feed } from './feed.js';
import type { FlowView } from './flow-view.js';
import { FlowsTable } from './flows-table.js';
import { layoutMap, loadLayoutLibrary } from './map-layout.js';
import { ServiceMap } from './map-model.js';
import { MapView } from './map-render.js';

const LAYOUT_EVERY_MS = 500;
const REFRESH_EVERY_MS = 250;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const map = new ServiceMap();
const table = new FlowsTable($<HTMLTableSectionElement>('flows-body'), $('flows-count'));
const status = $('relay-status');
let laidOut = -1;
let drawnVersion = -1;
let lastLayout = 0;
let lastRefresh = 0;
let tableDirty = true;
let droppedTotal = 0;

const view = new MapView($('map'), (edgeId) => {
  view.select(edgeId);
  table.filter.edge = edgeId;
  $('edge-selection').textContent = edgeId ? `edge ${edgeId} (click the map background to clear)` : '';
  tableDirty = true;
});

function setStatus(state: string, message: string): void {
  status.dataset.state = state;
  status.textContent =
    state === 'connected' ? 'relay connected' : state === 'connecting' ? 'connecting to the relay…' : message || state;
}

const feed = new Feed({
  onFlows(flows: FlowView[], dropped: number) {
    for (const f of flows) {
      map.add(f);
      table.add(f);
    }
    droppedTotal += dropped;
    if (dropped > 0) $('dropped').textContent = `${droppedTotal} flows not shown (the page fell behind)`;
    if (flows.length > 0) tableDirty = true;
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
  if (map.topologyVersion !== laidOut && now - lastLayout >= LAYOUT_EVERY_MS) {
    const t0 = performance.now();
    const layout = layoutMap(map);
    view.draw(map, layout);
    (window as unknown as { hubbleUiLayoutMs: number }).hubbleUiLayoutMs = performance.now() - t0;
    laidOut = map.topologyVersion;
    drawnVersion = map.version;
    lastLayout = now;
  } else if (map.version !== drawnVersion && now - lastRefresh >= REFRESH_EVERY_MS) {
    view.refresh(map);
    drawnVersion = map.version;
    lastRefresh = now;
  }
  if (tableDirty && now - lastRefresh >= 0) {
    table.render();
    tableDirty = false;
  }
  requestAnimationFrame(frame);
}

for (const key of ['verdict', 'namespace-filter', 'pod', 'port', 'protocol'] as const) {
  $<HTMLInputElement>(`filter-${key}`).addEventListener('input', (ev) => {
    const v = (ev.target as HTMLInputElement).value.trim();
    const k = key === 'namespace-filter' ? 'namespace' : key;
    table.filter[k] = k === 'verdict' ? v.toUpperCase() : k === 'protocol' ? v.toLowerCase() : v;
    tableDirty = true;
  });
}

$<HTMLSelectElement>('namespace').addEventListener('change', (ev) => {
  const ns = (ev.target as HTMLSelectElement).value;
  map.clear();
  table.clear();
  view.select(undefined);
  table.filter.edge = undefined;
  tableDirty = true;
  feed.open(ns);
});

await loadLayoutLibrary();
setStatus('connecting', '');
feed.open('');
void loadNamespaces();
setInterval(() => void loadNamespaces(), 10_000);
(window as unknown as { hubbleUi: unknown }).hubbleUi = { map, table };
requestAnimationFrame(frame);
