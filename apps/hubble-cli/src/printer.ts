import { flow, observer, relay, type Timestamp } from '@cilium-ts/api';
import { Colorer } from './colorer.js';
import { flowTypeText, hostNames, identityText, summaryText, verdictText } from './flow-text.js';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTable } from './tab-writer.js';
import { formatTimestamp, type TimeFormat } from './timestamp-format.js';

import type { OutputFormat } from './output-format.js';

/** PrinterOptions mirror the observe display flags. */
export interface PrinterOptions {
  output: OutputFormat;
  printNodeName: boolean;
  ipTranslation: boolean;
  /** Show node_status CONNECTED/GONE/UNKNOWN and lost events too (--debug). */
  debug: boolean;
  colorer: Colorer;
  /** --time-format (default StampMilli). */
  timeFormat?: TimeFormat;
  out: (s: string) => void;
  err: (s: string) => void;
}

const DICT_SEPARATOR = '------------\n';
const NODE_NAMES_CUTOFF = 50;

/** joinWithCutOff joins names with sep, cutting after about targetLen characters with `(and K more)`. */
export function joinWithCutOff(elems: string[], sep: string, targetLen: number): string {
  let len = 0;
  let end = elems.length;
  for (let i = 0; i < elems.length; i++) {
    len += elems[i].length + sep.length;
    if (len > targetLen && i > 0) {
      end = i;
      break;
    }
  }
  const joined = elems.slice(0, end).join(sep);
  const omitted = elems.length - end;
  return omitted === 0 ? joined : `${joined} (and ${omitted} more)`;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Printer renders GetFlowsResponses in the Go CLI's formats: flows on out, node status on err. */
export class Printer {
  private line = 0;
  private nodeLine = 0;
  private readonly tableRows: string[][] = [];

  private readonly opts: PrinterOptions;

  /** As upstream, table output is never coloured (the tab writer would count the escapes). */
  constructor(opts: PrinterOptions) {
    this.opts = opts.output === 'table' ? { ...opts, colorer: new Colorer(false) } : opts;
  }

  /** response renders one response according to what it carries. */
  response(resp: observer.GetFlowsResponse): void {
    if (resp.flow) this.flow(resp.flow, resp);
    else if (resp.nodeStatus) this.nodeStatus(resp);
    else if (resp.lostEvents && this.opts.debug) this.opts.err(`unknown response type: ${goJson(toProtoJson('observer.GetFlowsResponse', observer.GetFlowsResponse, resp))}\n`);
  }

  /** flow renders one flow. */
  flow(f: flow.Flow, resp?: observer.GetFlowsResponse): void {
    const o = this.opts;
    switch (o.output) {
      case 'json':
        o.out(`${goJson(toProtoJson('flow.Flow', flow.Flow, f))}\n`);
        break;
      case 'jsonpb': {
        const r = resp ?? observer.GetFlowsResponse.fromPartial({ flow: f, nodeName: f.nodeName, time: f.time });
        o.out(`${goJson(toProtoJson('observer.GetFlowsResponse', observer.GetFlowsResponse, r))}\n`);
        break;
      }
      case 'compact':
        o.out(this.compactLine(f));
        break;
      case 'dict':
        o.out(this.dictBlock(f));
        break;
      case 'table': {
        if (this.line === 0) {
          this.tableRows.push(['TIMESTAMP', ...(o.printNodeName ? ['NODE'] : []), 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY']);
        }
        const [src, dst] = hostNames(f, o.colorer, o.ipTranslation);
        this.tableRows.push([
          this.time(f.time), ...(o.printNodeName ? [f.nodeName] : []), src, dst, flowTypeText(f),
          o.colorer.verdict(verdictText(f)), summaryText(o.colorer, f),
        ]);
        break;
      }
    }
    this.line++;
  }

  /** compactLine is one `-o compact` line: both sides with their identities, arrow and swap by is_reply. */
  compactLine(f: flow.Flow): string {
    const o = this.opts;
    let [src, dst] = hostNames(f, o.colorer, o.ipTranslation);
    let srcId = identityText(o.colorer, f.source?.identity ?? 0);
    let dstId = identityText(o.colorer, f.destination?.identity ?? 0);
    let arrow = '->';
    if (f.isReply === undefined) arrow = '<>';
    else if (f.isReply) {
      [src, dst, srcId, dstId] = [dst, src, dstId, srcId];
      arrow = '<-';
    }
    const node = o.printNodeName ? ` [${f.nodeName}]` : '';
    return `${this.time(f.time)}${node}: ${src} ${srcId} ${arrow} ${dst} ${dstId} ${flowTypeText(f)} ${o.colorer.verdict(verdictText(f))} (${summaryText(o.colorer, f)})\n`;
  }

  /** dictBlock is one `-o dict` block, preceded by a separator after the first. */
  dictBlock(f: flow.Flow): string {
    const o = this.opts;
    const [src, dst] = hostNames(f, o.colorer, o.ipTranslation);
    return (
      (this.line !== 0 ? DICT_SEPARATOR : '') +
      `  TIMESTAMP: ${this.time(f.time)}\n` +
      (o.printNodeName ? `       NODE: ${f.nodeName}\n` : '') +
      `     SOURCE: ${src}\n` +
      `DESTINATION: ${dst}\n` +
      `       TYPE: ${flowTypeText(f)}\n` +
      `    VERDICT: ${o.colorer.verdict(verdictText(f))}\n` +
      `    SUMMARY: ${f.Summary}\n`
    );
  }

  /** nodeStatus renders a node_status response on err (NODE_ERROR/NODE_UNAVAILABLE only unless debug). */
  nodeStatus(resp: observer.GetFlowsResponse): void {
    const s = resp.nodeStatus;
    if (!s) return;
    const o = this.opts;
    if (!o.debug && s.stateChange !== relay.NodeState.NODE_ERROR && s.stateChange !== relay.NodeState.NODE_UNAVAILABLE) return;
    switch (o.output) {
      case 'json':
      case 'jsonpb':
        o.err(`${goJson(toProtoJson('observer.GetFlowsResponse', observer.GetFlowsResponse, resp))}\n`);
        break;
      case 'dict': {
        const message = s.message !== '' ? goQuote(s.message) : 'N/A';
        o.err(
          (this.nodeLine !== 0 ? DICT_SEPARATOR : '') +
            `  TIMESTAMP: ${this.time(resp.time)}\n` +
            `      STATE: ${relay.nodeStateToJSON(s.stateChange)}\n` +
            `      NODES: ${joinWithCutOff(s.nodeNames, ', ', NODE_NAMES_CUTOFF)}\n` +
            `    MESSAGE: ${message}\n`,
        );
        break;
      }
      default:
        o.err(`${nodeStatusLine(resp, o.timeFormat)}\n`);
    }
    this.nodeLine++;
  }

  private time(ts: Timestamp | undefined): string {
    return formatTimestamp(this.opts.timeFormat ?? 'StampMilli', ts);
  }

  /** finish writes what is buffered (the table). */
  finish(): void {
    if (this.opts.output === 'table' && this.tableRows.length > 0) this.opts.out(formatTable(this.tableRows));
  }
}

/** nodeStatusLine is the compact/table stderr line for a node_status response. */
export function nodeStatusLine(resp: observer.GetFlowsResponse, timeFormat: TimeFormat = 'StampMilli'): string {
  const s = resp.nodeStatus ?? relay.NodeStatusEvent.fromPartial({});
  const n = s.nodeNames.length;
  const names = joinWithCutOff(s.nodeNames, ', ', NODE_NAMES_CUTOFF);
  const prefix = `${formatTimestamp(timeFormat, resp.time)} [${resp.nodeName}]`;
  switch (s.stateChange) {
    case relay.NodeState.NODE_CONNECTED: return `${prefix}: Receiving flows from ${n} nodes: ${names}`;
    case relay.NodeState.NODE_UNAVAILABLE: return `${prefix}: ${n} nodes are unavailable: ${names}`;
    case relay.NodeState.NODE_GONE: return `${prefix}: ${n} nodes removed from cluster: ${names}`;
    case relay.NodeState.NODE_ERROR: return `${prefix}: Error ${goQuote(s.message)} on ${n} nodes: ${names}`;
    default: return `${prefix}: unknown node status event: ${relay.nodeStateToJSON(s.stateChange)} ${names}`;
  }
}
