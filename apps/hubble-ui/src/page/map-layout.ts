// Layout of the service map's workload-pair graph with dagre (@dagrejs/dagre, served by the
// backend as an ES module): a layered left-to-right drawing. Runs in the layout worker
// (layout-worker.ts), never in the page's animation frames. Node sizes are fixed so the
// layout depends on topology only.
//
// Small maps (<= FULL_LAYOUT_MAX_EDGES pairs) get dagre's full layout (network-simplex
// ranking, crossing minimisation, routed edges). Dagre cannot lay out a dense graph of a few
// hundred workloads in under a second in any setting (200 workloads / 1,000 pairs: 24-65 s),
// because long edges become chains of dummy nodes that its ordering sweeps over; large maps
// are therefore laid out as their heaviest spanning forest (one edge fewer than workloads,
// by flow count) with longest-path ranking, and the other pairs are drawn straight between
// their workloads.

/** Node box size in the drawing. */
export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 44;
/** Up to this many pairs the full dagre layout is used. */
export const FULL_LAYOUT_MAX_EDGES = 60;

/** What the worker lays out: workload ids and source -> target pairs with their flow counts. */
export interface LayoutRequest {
  seq: number;
  nodes: string[];
  edges: { id: string; source: string; target: string; weight: number }[];
}

/** Where each node and the points of each edge are (plain data, posted back by the worker). */
export interface LayoutResult {
  seq: number;
  mode: 'full' | 'spanning-forest';
  nodes: [string, { x: number; y: number }][];
  edges: [string, { x: number; y: number }[]][];
  width: number;
  height: number;
  ms: number;
}

interface DagreGraph {
  setGraph(g: object): void;
  setDefaultEdgeLabel(f: () => object): void;
  setNode(id: string, v: object): void;
  setEdge(v: string, w: string, label?: object): void;
  node(id: string): { x: number; y: number };
  edge(v: string, w: string): { points: { x: number; y: number }[] } | undefined;
  graph(): { width: number; height: number };
}
/** The part of dagre's module the layout uses. */
export interface Dagre {
  graphlib: { Graph: new (opts?: { multigraph: boolean }) => DagreGraph };
  layout(g: DagreGraph): void;
}

/** spanningForest picks, heaviest first, the pairs that join two unjoined trees (Kruskal). */
export function spanningForest<E extends { source: string; target: string; weight: number }>(edges: E[]): E[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r)) r = parent.get(r)!;
    while (x !== r) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const kept: E[] = [];
  for (const e of [...edges].sort((a, b) => b.weight - a.weight)) {
    const a = find(e.source);
    const b = find(e.target);
    if (a === b) continue;
    parent.set(a, b);
    kept.push(e);
  }
  return kept;
}

/** border is where the segment from a node's centre towards `to` leaves the node's box. */
function border(c: { x: number; y: number }, to: { x: number; y: number }): { x: number; y: number } {
  const dx = to.x - c.x;
  const dy = to.y - c.y;
  if (dx === 0 && dy === 0) return c;
  const s = Math.min(dx === 0 ? Infinity : NODE_WIDTH / 2 / Math.abs(dx), dy === 0 ? Infinity : NODE_HEIGHT / 2 / Math.abs(dy));
  return { x: c.x + dx * s, y: c.y + dy * s };
}

/** layoutGraph lays a request out with dagre (see the file comment for the two modes). */
export function layoutGraph(dagre: Dagre, req: LayoutRequest): LayoutResult {
  const t0 = performance.now();
  const full = req.edges.length <= FULL_LAYOUT_MAX_EDGES;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 90, edgesep: 6, marginx: 20, marginy: 20, ranker: full ? 'network-simplex' : 'longest-path' });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of req.nodes) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const loops = req.edges.filter((e) => e.source !== e.target);
  for (const e of full ? loops : spanningForest(loops)) g.setEdge(e.source, e.target, { weight: 1 });
  dagre.layout(g);
  const nodes = new Map<string, { x: number; y: number }>();
  for (const id of req.nodes) {
    const p = g.node(id);
    nodes.set(id, { x: p.x, y: p.y });
  }
  const edges: [string, { x: number; y: number }[]][] = [];
  for (const e of req.edges) {
    const s = nodes.get(e.source)!;
    const t = nodes.get(e.target)!;
    if (e.source === e.target) {
      edges.push([e.id, [{ x: s.x + NODE_WIDTH / 2, y: s.y }, { x: s.x + NODE_WIDTH / 2 + 30, y: s.y - 40 }, { x: s.x, y: s.y - NODE_HEIGHT / 2 }]]);
      continue;
    }
    const routed = g.edge(e.source, e.target);
    edges.push([e.id, routed !== undefined ? routed.points : [border(s, t), { x: (s.x + t.x) / 2, y: (s.y + t.y) / 2 }, border(t, s)]]);
  }
  const size = g.graph();
  return { seq: req.seq, mode: full ? 'full' : 'spanning-forest', nodes: [...nodes], edges, width: size.width, height: size.height, ms: performance.now() - t0 };
}
