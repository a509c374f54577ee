// Draws the service map as SVG: one <g class="node" data-id> per workload and one
// <path class="edge" data-id data-kind> per workload pair, coloured by verdict (forwarded,
// dropped, L7), labelled with its port (or how many ports) and flow count, each port's
// counts in its tooltip. Counts are refreshed in place; the whole drawing is redone only
// when a new layout arrives. Nodes and pairs the layout does not know yet wait for the next one.
import type { MapLayout } from './layout-client.js';
import { NODE_HEIGHT, NODE_WIDTH } from './map-layout.js';
import { edgeKind, type MapEdge, type ServiceMap } from './map-model.js';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function pathOf(points: { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** MapView owns the map's SVG. */
export class MapView {
  private readonly svg: SVGSVGElement;
  private readonly edgeLabels = new Map<string, SVGTextElement>();
  private readonly edgeTitles = new Map<string, SVGTitleElement>();
  private readonly edgePaths = new Map<string, SVGPathElement>();
  private readonly nodeCounts = new Map<string, SVGTextElement>();
  selected: string | undefined;

  constructor(container: HTMLElement, private readonly onEdgeClick: (edgeId: string | undefined) => void) {
    this.svg = el('svg', { id: 'map-svg', role: 'img', 'aria-label': 'service map' });
    const defs = el('defs', {});
    for (const kind of ['forwarded', 'dropped', 'l7']) {
      const marker = el('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow ${kind}` }));
      defs.append(marker);
    }
    this.svg.append(defs);
    container.append(this.svg);
    this.svg.addEventListener('click', (ev) => {
      const target = (ev.target as Element).closest('[data-edge]');
      this.onEdgeClick(target?.getAttribute('data-edge') ?? undefined);
    });
  }

  /** draw redraws everything from a layout. */
  draw(map: ServiceMap, layout: MapLayout): void {
    map.takeTouched();
    const keep = this.svg.querySelector('defs')!;
    this.svg.replaceChildren(keep);
    this.edgeLabels.clear();
    this.edgeTitles.clear();
    this.edgePaths.clear();
    this.nodeCounts.clear();
    this.svg.setAttribute('viewBox', `0 0 ${Math.max(layout.width, 400)} ${Math.max(layout.height, 200)}`);
    this.svg.setAttribute('width', String(Math.max(layout.width, 400)));
    this.svg.setAttribute('height', String(Math.max(layout.height, 200)));
    const edgeLayer = el('g', { class: 'edges' });
    const nodeLayer = el('g', { class: 'nodes' });
    for (const e of map.edges.values()) {
      const points = layout.edges.get(e.id);
      if (points === undefined) continue;
      const kind = edgeKind(e);
      const g = el('g', { class: 'edge-group', 'data-edge': e.id });
      const path = el('path', { class: `edge ${kind}`, d: pathOf(points), 'data-id': e.id, 'data-edge': e.id, 'data-kind': kind, 'marker-end': `url(#arrow-${kind})` });
      const hit = el('path', { class: 'edge-hit', d: pathOf(points), 'data-edge': e.id });
      const mid = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
      const label = el('text', { class: 'edge-label', x: mid.x, y: mid.y - 4, 'data-edge': e.id });
      label.textContent = this.edgeText(e);
      const title = el('title', {});
      title.textContent = this.edgeTitle(e);
      if (e.id === this.selected) g.classList.add('selected');
      g.append(title, path, hit, label);
      this.edgeTitles.set(e.id, title);
      edgeLayer.append(g);
      this.edgeLabels.set(e.id, label);
      this.edgePaths.set(e.id, path);
    }
    for (const n of map.nodes.values()) {
      const p = layout.nodes.get(n.id);
      if (p === undefined) continue;
      const g = el('g', { class: 'node', 'data-id': n.id, transform: `translate(${(p.x - NODE_WIDTH / 2).toFixed(1)},${(p.y - NODE_HEIGHT / 2).toFixed(1)})` });
      g.append(el('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 }));
      const name = el('text', { class: 'node-name', x: 8, y: 18 });
      name.textContent = n.name.length > 24 ? `${n.name.slice(0, 23)}…` : n.name;
      const ns = el('text', { class: 'node-ns', x: 8, y: 35 });
      ns.textContent = n.namespace || 'outside the cluster';
      const count = el('text', { class: 'node-count', x: NODE_WIDTH - 8, y: 35, 'text-anchor': 'end' });
      count.textContent = String(n.flows);
      g.append(name, ns, count);
      nodeLayer.append(g);
      this.nodeCounts.set(n.id, count);
    }
    this.svg.append(edgeLayer, nodeLayer);
  }

  private static portName(p: { port: number; protocol: string }): string {
    return p.port > 0 ? `${p.port}/${p.protocol}` : p.protocol || 'ip';
  }

  private static counts(c: { forwarded: number; dropped: number }): string {
    return `${c.forwarded + c.dropped}${c.dropped > 0 ? ` (${c.dropped} dropped)` : ''}`;
  }

  /** The label: the port when there is one (the request's, not the replies'), else how many. */
  private edgeText(e: MapEdge): string {
    const ports = [...e.ports.values()];
    const requests = ports.filter((p) => p.port > 0);
    const shown = requests.length === 1 ? requests : ports;
    const what = shown.length === 1 ? MapView.portName(shown[0]!) : `${shown.length} ports`;
    return `${what} · ${MapView.counts(e)}`;
  }

  /** The tooltip: each port with its counts. */
  private edgeTitle(e: MapEdge): string {
    return [`${e.source} -> ${e.target}`, ...[...e.ports.values()].map((p) => `${MapView.portName(p)}: ${MapView.counts(p)}`)].join('\n');
  }

  /** refresh updates the counts and colours of what changed since the last draw or refresh, without a new layout. */
  refresh(map: ServiceMap): void {
    const touched = map.takeTouched();
    for (const e of touched.edges) {
      const label = this.edgeLabels.get(e.id);
      if (label) label.textContent = this.edgeText(e);
      const title = this.edgeTitles.get(e.id);
      if (title) title.textContent = this.edgeTitle(e);
      const path = this.edgePaths.get(e.id);
      const kind = edgeKind(e);
      if (path && path.getAttribute('data-kind') !== kind) {
        path.setAttribute('data-kind', kind);
        path.setAttribute('class', `edge ${kind}`);
        path.setAttribute('marker-end', `url(#arrow-${kind})`);
      }
    }
    for (const n of touched.nodes) {
      const c = this.nodeCounts.get(n.id);
      if (c) c.textContent = String(n.flows);
    }
  }

  /** select marks one edge (or none). */
  select(edgeId: string | undefined): void {
    this.selected = edgeId;
    for (const g of this.svg.querySelectorAll('.edge-group')) g.classList.toggle('selected', g.getAttribute('data-edge') === edgeId);
  }
}
