// L7 matching for a proxy: does an HTTP request, DNS query or Kafka request pass an L7 policy.

import { RE2JS } from 're2js';
import type { DNSRule, HTTPRule, KafkaRule } from './l7.js';
import type { L7Policy } from './proxy-port.js';

/** An HTTP request as the proxy sees it. Header names are case-insensitive. */
export interface HTTPRequest {
  method: string;
  path: string;
  host?: string;
  headers?: Readonly<Record<string, string>>;
}

/** A Kafka request as the proxy sees it. */
export interface KafkaRequest {
  /** API key name (`produce`, `fetch`, ...). */
  apiKey: string;
  apiVersion?: number;
  clientID?: string;
  topic?: string;
}

/** A compiled rule regex that matches whole inputs only (anchored at both ends, as in Cilium). */
interface Anchored { test(input: string): boolean }

// Rule regexes run on RE2 (re2js): the syntax of Cilium's Go regexp, and matching in time
// linear in the input, so no rule and no request can make the proxy backtrack.
const regexCache = new Map<string, Anchored>();
function anchored(re: string, flags = ''): Anchored {
  const k = `${flags}/${re}`;
  let r = regexCache.get(k);
  if (!r) {
    const compiled = RE2JS.compile(re, flags === 'i' ? RE2JS.CASE_INSENSITIVE : 0);
    r = { test: (input) => compiled.matches(input) };
    regexCache.set(k, r);
  }
  return r;
}

/** True when `req` matches one HTTP rule (method, path and host are anchored regexes; headers must be present). */
export function httpRuleMatches(rule: HTTPRule, req: HTTPRequest): boolean {
  if (rule.method !== undefined && !anchored(rule.method).test(req.method)) return false;
  if (rule.path !== undefined && !anchored(rule.path).test(req.path)) return false;
  if (rule.host !== undefined && !anchored(rule.host, 'i').test(req.host ?? '')) return false;
  const headers = new Map(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const h of rule.headers ?? []) {
    const i = h.indexOf(':');
    const name = (i < 0 ? h : h.slice(0, i)).trim().toLowerCase();
    const got = headers.get(name);
    if (got === undefined) return false;
    if (i >= 0 && got !== h.slice(i + 1).trim()) return false;
  }
  return true;
}

function normalizeName(n: string): string {
  const l = n.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

/** True when DNS name `name` matches one rule: matchName exactly (case-insensitive), matchPattern with `*` for [-a-z0-9_]* (a lone `*` for any name). */
export function dnsRuleMatches(rule: DNSRule, name: string): boolean {
  const n = normalizeName(name);
  if (rule.matchName !== undefined) return normalizeName(rule.matchName) === n;
  const p = normalizeName(rule.matchPattern ?? '');
  if (p === '*') return true;
  const re = p
    .split('*')
    .map((part) => part.replace(/[.\\+?^${}()|[\]-]/g, '\\$&'))
    .join('[-a-z0-9_]*');
  return anchored(re).test(n);
}

const KAFKA_ROLES: Readonly<Record<'produce' | 'consume', readonly string[]>> = {
  produce: ['produce', 'metadata', 'apiversions'],
  consume: ['fetch', 'offsets', 'metadata', 'offsetcommit', 'offsetfetch', 'findcoordinator', 'joingroup', 'heartbeat', 'leavegroup', 'syncgroup', 'apiversions'],
};

/** True when a Kafka request matches one rule (role or apiKey, then apiVersion, clientID, topic when given). */
export function kafkaRuleMatches(rule: KafkaRule, req: KafkaRequest): boolean {
  const key = req.apiKey.toLowerCase();
  if (rule.role !== undefined && !KAFKA_ROLES[rule.role].includes(key)) return false;
  if (rule.apiKey !== undefined && rule.apiKey !== key) return false;
  if (rule.apiVersion !== undefined && Number(rule.apiVersion) !== req.apiVersion) return false;
  if (rule.clientID !== undefined && rule.clientID !== req.clientID) return false;
  if (rule.topic !== undefined && rule.topic !== req.topic) return false;
  return true;
}

/** True when an HTTP request passes the L7 policy (allowAll, or one of its http rules matches). */
export function httpAllowed(policy: L7Policy, req: HTTPRequest): boolean {
  return policy.allowAll || (policy.rules.http ?? []).some((r) => httpRuleMatches(r, req));
}

/** True when a DNS query for `name` passes the L7 policy. */
export function dnsAllowed(policy: Pick<L7Policy, 'allowAll' | 'rules'>, name: string): boolean {
  return policy.allowAll || (policy.rules.dns ?? []).some((r) => dnsRuleMatches(r, name));
}

/** True when a Kafka request passes the L7 policy. */
export function kafkaAllowed(policy: L7Policy, req: KafkaRequest): boolean {
  return policy.allowAll || (policy.rules.kafka ?? []).some((r) => kafkaRuleMatches(r, req));
}
