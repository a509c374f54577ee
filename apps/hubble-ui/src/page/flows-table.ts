// The flows table under the map: the newest flows (a bounded ring) that pass the table's
// filters (verdict, namespace, pod, port, protocol) and, when an edge is selected, belong to it.
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

/** FlowsTable keeps recent flows and renders the matching ones. */
export class FlowsTable {
  private readonly ring: FlowView[] = [];
  private start = 0;
  filter: TableFilter = { verdict: '', namespace: '', pod: '', port: '', protocol: '', edge: undefined };

  constructor(private readonly body: HTMLTableSectionElement, private readonly counter: HTMLElement) {}

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

  /** render shows the newest matching flows, newest first. */
  render(): void {
    const rows: FlowView[] = [];
    let matched = 0;
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const f = this.ring[(this.start + i) % this.ring.length]!;
      if (!matchesTable(f, this.filter)) continue;
      matched++;
      if (rows.length < SHOWN_ROWS) rows.push(f);
    }
    const frag = document.createDocumentFragment();
    for (const f of rows) {
      const tr = document.createElement('tr');
      tr.dataset.verdict = f.verdict;
      tr.dataset.edge = edgeIdOf(f);
      const cells = [
        new Date(f.time).toISOString().slice(11, 23),
        `${f.source.namespace ? `${f.source.namespace}/` : ''}${f.source.pod || f.source.name}`,
        `${f.destination.namespace ? `${f.destination.namespace}/` : ''}${f.destination.pod || f.destination.name}`,
        f.port > 0 ? String(f.port) : '',
        f.l7 || f.protocol,
        f.verdict,
        f.summary,
      ];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      frag.append(tr);
    }
    this.body.replaceChildren(frag);
    this.counter.textContent = `${matched} of ${this.ring.length} recent flows${this.filter.edge ? ' on the selected edge' : ''}`;
  }
}
