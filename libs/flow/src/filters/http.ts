// http_status_code / http_method / http_path: conditions on the L7 HTTP record.
import type { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

/** Monitor event type of L7 (access log) events. */
const EVENT_TYPE_L7 = 129;

function requireL7EventType(field: string, ff: flow.FlowFilter, value: string): void {
  if (ff.eventType.length > 0 && !ff.eventType.some((e) => e.type === EVENT_TYPE_L7)) {
    throw new FilterError(field, value, 'HTTP filters need an event_type list that includes type 129 (l7), or no event_type at all');
  }
}

function statusPredicate(codes: string[]): FlowPredicate {
  const full = new Set<string>();
  const prefixes: string[] = [];
  for (const c of codes) {
    if (/^[1-5][0-9]{2}$/.test(c)) full.add(c);
    else if (/^[1-5][0-9]?\+$/.test(c)) prefixes.push(c.slice(0, -1));
    else throw new FilterError('http_status_code', c, 'write a 3-digit code like 404 or a prefix like 5+ or 40+');
  }
  return (f) => {
    const code = f.l7?.http?.code ?? 0;
    if (code === 0) return false;
    const text = String(code).padStart(3, '0');
    return full.has(text) || prefixes.some((p) => text.startsWith(p));
  };
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url, 'http://placeholder.invalid').pathname;
  } catch {
    return undefined;
  }
}

/** The HTTP filter kind (status code, method, path). */
export const httpFilter: FlowFilterKind = {
  name: 'http',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.httpStatusCode.length > 0) {
      requireL7EventType('http_status_code', ff, ff.httpStatusCode.join(','));
      out.push(statusPredicate(ff.httpStatusCode));
    }
    if (ff.httpMethod.length > 0) {
      requireL7EventType('http_method', ff, ff.httpMethod.join(','));
      const methods = ff.httpMethod.map((m) => m.toUpperCase());
      out.push((f) => {
        const m = f.l7?.http?.method ?? '';
        return m !== '' && methods.includes(m.toUpperCase());
      });
    }
    if (ff.httpPath.length > 0) {
      requireL7EventType('http_path', ff, ff.httpPath.join(','));
      const res = ff.httpPath.map((p) => {
        try {
          return new RegExp(p);
        } catch (err) {
          throw new FilterError('http_path', p, `not a valid regular expression (${(err as Error).message})`);
        }
      });
      out.push((f) => {
        const url = f.l7?.http?.url;
        const path = url ? pathOf(url) : undefined;
        return path !== undefined && res.some((r) => r.test(path));
      });
    }
    return out;
  },
};
