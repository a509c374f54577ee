// Layout of the service map with dagre (@dagrejs/dagre, served by the backend as an ES
// module): a layered left-to-right drawing, which keeps who-calls-whom readable at a few
// hundred workloads. Node sizes are fixed so the layout depends on topology only.
import type { ServiceMap } from './map-model.js';

/** Node box size in the drawing. */
export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 44;

/** Where a node and the points of each edge are. */
export interface MapLayout {
  nodes: Map<string, { x: number; y: number }>;
  edges: Map<string, { x: number; y: number }[]>;
  width: number;
  height: number;
}

interface DagreGraph {
  setGraph(g: object): void;
  setDefaultEdgeLabel(f: () => object): void;
  setNode(id: string, v: object): void;
  setEdge(v: string, w: string, label: object, name: string): void;
  node(id: string): { x: number; y: number };
  edge(v: string, w: string, name: string): { points: { x: number; y: number }[] };
  graph(): { width: number; height: number };
}
interface Dagre {
  graphlib: { Graph: new (opts: { multigraph: boolean }) => DagreGraph };
  layout(g: DagreGraph): void;
}

let dagre: Dagre | undefined;

/** loadLayoutLibrary imports dagre from the backend (once). */
export async function loadLayoutLibrary(url = '/static/dagre.esm.js'): Promise<void> {
  dagre ??= ((await import(url)) as { default: Dagre }).default;
}

/** layoutMap lays the map out (loadLayoutLibrary first). */
export function layoutMap(map: ServiceMap): MapLayout {
  if (dagre === undefined) throw new Error('layoutMap: the layout library is not loaded');
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 90, edgesep: 6, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of map.nodes.values()) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of map.edges.values()) {
    if (e.source !== e.target) g.setEdge(e.source, e.target, {}, e.id);
  }
  dagre.layout(g);
  const nodes = new Map<string, { x: number; y: number }>();
  for (const n of map.nodes.values()) {
    const p = g.node(n.id);
    nodes.set(n.id, { x: p.x, y: p.y });
  }
  const edges = new Map<string, { x: number; y: number }[]>();
  for (const e of map.edges.values()) {
    if (e.source === e.target) {
      const p = nodes.get(e.source)!;
      edges.set(e.id, [{ x: p.x + NODE_WIDTH / 2, y: p.y }, { x: p.x + NODE_WIDTH / 2 + 30, y: p.y - 40 }, { x: p.x, y: p.y - NODE_HEIGHT / 2 }]);
    } else {
      edges.set(e.id, g.edge(e.source, e.target, e.id).points);
    }
  }
  const size = g.graph();
  return { nodes, edges, width: size.width, height: size.height };
}
