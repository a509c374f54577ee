// The flows table under the map: the newest flows (a bounded ring) that pass the table's
// filters (verdict, namespace, pod, port, protocol) and, when an edge is selected, belong to it.
// Virtualized: of the newest SHOWN_ROWS matching flows only the rows in the scroll viewport
// exist, reused from render to render (a few dozen rows rewritten per refresh, not 200 rebuilt).
import type { FlowView } from './flow-view.js';
import { edgeIdOf } from './map-model.js';

/** KEPT_FLOWS is how many recent flows the page keeps for the table. */
export const KEPT_FLOWS = 5000;
/** SHOWN_ROWS is how many rows the table shows. */
export const SHOWN_ROWS = 200;

/** TableFilter is what the table's filter inputs hold ('' = any). */
export interface TableFilter {
  verdict: string;
  namespace: string;
  pod: string;
  port: string;
  protocol: string;
  edge: string | undefined;
}

/** matchesTable tells whether a flow passes the table's filters. */
export function matchesTable(f: FlowView, t: TableFilter): boolean {
  if (t.verdict && f.verdict !== t.verdict) return false;
  if (t.namespace && f.source.namespace !== t.namespace && f.destination.namespace !== t.namespace) return false;
  if (t.pod && !f.source.pod.startsWith(t.pod) && !f.destination.pod.startsWith(t.pod)) return false;
  if (t.port && String(f.port) !== t.port) return false;
  if (t.protocol && f.protocol !== t.protocol && f.l7 !== t.protocol) return false;
  if (t.edge !== undefined && edgeIdOf(f) !== t.edge) return false;
  return true;
}

/** The cell texts of a flow's row. */
function cellsOf(f: FlowView): string[] {
  return [
    new Date(f.time).toISOString().slice(11, 23),
    `${f.source.namespace ? `${f.source.namespace}/` : ''}${f.source.pod || f.source.name}`,
    `${f.destination.namespace ? `${f.destination.namespace}/` : ''}${f.destination.pod || f.destination.name}`,
    f.port > 0 ? String(f.port) : '',
    f.l7 || f.protocol,
    f.verdict,
    f.summary,
  ];
}

/** One table row kept for reuse: its element, its cells' text nodes and the flow it shows. */
interface Row {
  tr: HTMLTableRowElement;
  texts: Text[];
  flow: FlowView | undefined;
}

/** The scrolling elements of a virtualized table: the viewport, a spacer as tall as every row, the table of the rows in view. */
export interface TableViewport {
  scroll: HTMLElement;
  spacer: HTMLElement;
  rows: HTMLElement;
}

/** Row height until a rendered row has been measured. */
const DEFAULT_ROW_PX = 19;

/**
 * FlowsTable keeps recent flows and renders the matching ones. The rows are created once and
 * reused: a render writes only the cells whose flow changed (text nodes, no new elements), and
 * adds or removes rows only when the number in view changes. With a viewport only the rows in
 * view are rendered (the spacer keeps the scroll range of all of them).
 */
export class FlowsTable {
  private readonly ring: FlowView[] = [];
  private start = 0;
  private readonly rows: Row[] = [];
  private shown = 0;
  private counterText = '';
  private readonly matching: FlowView[] = [];
  private rowPx = 0;
  private spacerPx = -1;
  private offsetPx = -1;
  filter: TableFilter = { verdict: '', namespace: '', pod: '', port: '', protocol: '', edge: undefined };

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly counter: HTMLElement,
    private readonly viewport?: TableViewport,
  ) {}

  /** add keeps a flow (dropping the oldest past KEPT_FLOWS). */
  add(f: FlowView): void {
    if (this.ring.length < KEPT_FLOWS) this.ring.push(f);
    else {
      this.ring[this.start] = f;
      this.start = (this.start + 1) % KEPT_FLOWS;
    }
  }

  /** clear forgets every flow. */
  clear(): void {
    this.ring.length = 0;
    this.start = 0;
  }

  private row(i: number): Row {
    let r = this.rows[i];
    if (r === undefined) {
      const tr = document.createElement('tr');
      const texts: Text[] = [];
      for (let c = 0; c < 7; c++) {
        const td = document.createElement('td');
        const t = document.createTextNode('');
        td.append(t);
        tr.append(td);
        texts.push(t);
      }
      r = { tr, texts, flow: undefined };
      this.rows[i] = r;
    }
    return r;
  }

  /** The rows in view, [first, end) of `total`, from the viewport's scroll position (all without a viewport). */
  private window(total: number): [number, number] {
    const v = this.viewport;
    if (v === undefined) return [0, total];
    // Measured before this render writes anything: the layout is still the last frame's.
    if (this.rowPx === 0 && this.shown > 0) this.rowPx = this.rows[0]!.tr.offsetHeight;
    const px = this.rowPx || DEFAULT_ROW_PX;
    const first = Math.max(0, Math.min(Math.floor(v.scroll.scrollTop / px), total - 1));
    const end = Math.min(total, first + Math.ceil(v.scroll.clientHeight / px) + 1);
    const spacer = total * px;
    if (spacer !== this.spacerPx) v.spacer.style.height = `${(this.spacerPx = spacer)}px`;
    const offset = first * px;
    if (offset !== this.offsetPx) v.rows.style.transform = `translateY(${(this.offsetPx = offset)}px)`;
    return [first, end];
  }

  /** render shows the newest matching flows, newest first (those in view). */
  render(): void {
    let matched = 0;
    const matching = this.matching;
    matching.length = 0;
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const f = this.ring[(this.start + i) % this.ring.length]!;
      if (!matchesTable(f, this.filter)) continue;
      matched++;
      if (matching.length < SHOWN_ROWS) matching.push(f);
    }
    const [first, end] = this.window(matching.length);
    let n = 0;
    for (let i = first; i < end; i++) {
      const f = matching[i]!;
      const r = this.row(n++);
      if (r.flow === f) continue;
      r.flow = f;
      const cells = cellsOf(f);
      for (let c = 0; c < 7; c++) if (r.texts[c]!.data !== cells[c]) r.texts[c]!.data = cells[c]!;
      if (r.tr.dataset.verdict !== f.verdict) r.tr.dataset.verdict = f.verdict;
      const edge = edgeIdOf(f);
      if (r.tr.dataset.edge !== edge) r.tr.dataset.edge = edge;
    }
    if (n > this.shown) {
      const frag = document.createDocumentFragment();
      for (let i = this.shown; i < n; i++) frag.append(this.rows[i]!.tr);
      this.body.append(frag);
    } else {
      for (let i = n; i < this.shown; i++) {
        this.rows[i]!.tr.remove();
        this.rows[i]!.flow = undefined;
      }
    }
    this.shown = n;
    const text = `${matched} of ${this.ring.length} recent flows${this.filter.edge ? ' on the selected edge' : ''}`;
    if (text !== this.counterText) this.counter.textContent = this.counterText = text;
  }
}
