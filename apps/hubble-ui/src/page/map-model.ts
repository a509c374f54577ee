// The service map's data: one node per workload, one edge per source -> destination
// workload PAIR (what is laid out and drawn), each with its ports/protocols and counts per
// verdict (shown on the edge's label and tooltip). Replies are folded into the edge of their
// request (the map shows who talks to whom). Bounded: past MAX_NODES / MAX_EDGES / MAX_PORTS
// new ones are counted, not kept.
import type { FlowView, WorkloadView } from './flow-view.js';

/** A workload on the map. */
export interface MapNode {
  id: string;
  namespace: string;
  name: string;
  flows: number;
}

/** Verdict colour class of an edge. */
export type EdgeKind = 'forwarded' | 'dropped' | 'l7';

/** Counts of flows per verdict. */
export interface FlowCounts {
  forwarded: number;
  dropped: number;
  l7: number;
  last: number;
}

/** One port/protocol of an edge (port 0: replies, or no port). */
export interface EdgePort extends FlowCounts {
  port: number;
  protocol: string;
}

/** An edge: source -> destination workload, with its ports; the counts are the ports' sums. */
export interface MapEdge extends FlowCounts {
  id: string;
  source: string;
  target: string;
  /** Keyed by `port/protocol`. */
  ports: Map<string, EdgePort>;
}

/** MAX_NODES, MAX_EDGES and MAX_PORTS (per edge) bound the map. */
export const MAX_NODES = 2000;
export const MAX_EDGES = 10000;
export const MAX_PORTS = 64;

/** edgeKind is the colour of an edge: dropped if any flow was dropped, L7 if any L7 flow, else forwarded. */
export function edgeKind(e: FlowCounts): EdgeKind {
  if (e.dropped > 0) return 'dropped';
  if (e.l7 > 0) return 'l7';
  return 'forwarded';
}

/** edgeIdOf names the edge a flow belongs to: `source->destination` (replies: the reverse direction's). */
export function edgeIdOf(f: FlowView): string {
  const [src, dst] = f.reply ? [f.destination, f.source] : [f.source, f.destination];
  return `${src.id}->${dst.id}`;
}

function count(c: FlowCounts, f: FlowView): void {
  if (f.verdict === 'DROPPED' || f.verdict === 'ERROR') c.dropped++;
  else c.forwarded++;
  if (f.l7 !== '') c.l7++;
  c.last = f.time;
}

/** ServiceMap aggregates flows into nodes and edges. */
export class ServiceMap {
  readonly nodes = new Map<string, MapNode>();
  readonly edges = new Map<string, MapEdge>();
  /** Bumped whenever a node or a workload pair appears (the layout is redone then, never per flow). */
  topologyVersion = 0;
  /** Bumped on every flow. */
  version = 0;
  overflow = 0;
  /** Edges and nodes whose counts changed since takeTouched() (the drawing refreshes only those). */
  private touchedEdges = new Set<MapEdge>();
  private touchedNodes = new Set<MapNode>();

  private node(w: WorkloadView): MapNode | undefined {
    let n = this.nodes.get(w.id);
    if (n === undefined) {
      if (this.nodes.size >= MAX_NODES) return undefined;
      n = { id: w.id, namespace: w.namespace, name: w.name, flows: 0 };
      this.nodes.set(w.id, n);
      this.topologyVersion++;
    }
    return n;
  }

  /** add counts one flow. */
  add(f: FlowView): void {
    this.version++;
    const [src, dst] = f.reply ? [f.destination, f.source] : [f.source, f.destination];
    const id = edgeIdOf(f);
    let e = this.edges.get(id);
    if (e === undefined) {
      if (this.edges.size >= MAX_EDGES) {
        this.overflow++;
        return;
      }
      const s = this.node(src);
      const d = this.node(dst);
      if (s === undefined || d === undefined) {
        this.overflow++;
        return;
      }
      e = { id, source: s.id, target: d.id, ports: new Map(), forwarded: 0, dropped: 0, l7: 0, last: 0 };
      this.edges.set(id, e);
      this.topologyVersion++;
    }
    const port = f.reply ? 0 : f.port;
    const key = `${port}/${f.protocol}`;
    let p = e.ports.get(key);
    if (p === undefined && e.ports.size < MAX_PORTS) {
      p = { port, protocol: f.protocol, forwarded: 0, dropped: 0, l7: 0, last: 0 };
      e.ports.set(key, p);
    }
    const sn = this.nodes.get(e.source)!;
    const tn = this.nodes.get(e.target)!;
    sn.flows++;
    tn.flows++;
    this.touchedNodes.add(sn).add(tn);
    this.touchedEdges.add(e);
    count(e, f);
    if (p !== undefined) count(p, f);
  }

  /** takeTouched returns the edges and nodes counted since the last call, and forgets them. */
  takeTouched(): { edges: Set<MapEdge>; nodes: Set<MapNode> } {
    const touched = { edges: this.touchedEdges, nodes: this.touchedNodes };
    this.touchedEdges = new Set();
    this.touchedNodes = new Set();
    return touched;
  }

  /** clear empties the map (a new namespace was chosen). */
  clear(): void {
    this.nodes.clear();
    this.edges.clear();
    this.touchedEdges.clear();
    this.touchedNodes.clear();
    this.topologyVersion++;
    this.version++;
  }
}
