// L7 rules of a port rule (`toPorts[].rules`: http, dns, kafka): model, validation, proxy listener ports.

import { RE2JS } from 're2js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** An HTTP rule: every field given must match (regexes are anchored, as in Cilium). */
export interface HTTPRule {
  method?: string;
  path?: string;
  host?: string;
  /** `Name` (must be present) or `Name: value` (must be present with that value). */
  headers?: string[];
}

/** A DNS rule: exactly one of matchName (exact) or matchPattern (`*` wildcards). */
export interface DNSRule {
  matchName?: string;
  matchPattern?: string;
}

/** A Kafka rule: role (produce / consume) or apiKey, plus optional apiVersion, clientID, topic. */
export interface KafkaRule {
  role?: 'produce' | 'consume';
  apiKey?: string;
  apiVersion?: string;
  clientID?: string;
  topic?: string;
}

/** The L7 rules of one port rule: exactly one parser's list. */
export interface L7Rules {
  http?: HTTPRule[];
  dns?: DNSRule[];
  kafka?: KafkaRule[];
}

/** The L7 parsers. */
export type L7Parser = 'http' | 'dns' | 'kafka';

/** The parser of (validated) rules. */
export function l7Parser(rules: L7Rules): L7Parser {
  return rules.http ? 'http' : rules.dns ? 'dns' : 'kafka';
}

/** Kafka API key names accepted in rules (as in Cilium). */
export const KafkaApiKeys: Readonly<Record<string, number>> = {
  produce: 0,
  fetch: 1,
  offsets: 2,
  metadata: 3,
  leaderandisr: 4,
  stopreplica: 5,
  updatemetadata: 6,
  controlledshutdown: 7,
  offsetcommit: 8,
  offsetfetch: 9,
  findcoordinator: 10,
  joingroup: 11,
  heartbeat: 12,
  leavegroup: 13,
  syncgroup: 14,
  describegroups: 15,
  listgroups: 16,
  saslhandshake: 17,
  apiversions: 18,
  createtopics: 19,
  deletetopics: 20,
};

const DNS_NAME_RE = /^[-a-zA-Z0-9_.]+$/;
const DNS_PATTERN_RE = /^[-a-zA-Z0-9_.*]+$/;
const KAFKA_TOPIC_RE = /^[a-zA-Z0-9._-]{1,255}$/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function optString(raw: Record<string, unknown>, field: string, path: string, issues: IssueCollector): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    issues.add(joinPath(path, field), `must be a string, got ${describeType(v)}`);
    return undefined;
  }
  return v;
}

function regex(raw: Record<string, unknown>, field: string, path: string, issues: IssueCollector): string | undefined {
  const v = optString(raw, field, path, issues);
  if (v === undefined) return undefined;
  try {
    // RE2 syntax (Cilium's Go regexp): no backreferences or lookaround, linear-time matching.
    RE2JS.compile(v);
  } catch (e) {
    issues.add(joinPath(path, field), `${JSON.stringify(v)} is not a valid regular expression (RE2 syntax, as Cilium's; no backreferences or lookaround): ${(e as Error).message}`);
    return undefined;
  }
  return v;
}

function validateHTTP(raw: unknown, path: string, issues: IssueCollector): HTTPRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {method, path, host, headers}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['method', 'path', 'host', 'headers'], issues, ['headerMatches']);
  const before = issues.count;
  const out: HTTPRule = {};
  const method = regex(raw, 'method', path, issues);
  if (method !== undefined) out.method = method;
  const p = regex(raw, 'path', path, issues);
  if (p !== undefined) out.path = p;
  const host = regex(raw, 'host', path, issues);
  if (host !== undefined) out.host = host;
  if (raw.headers !== undefined && raw.headers !== null) {
    const hp = joinPath(path, 'headers');
    if (!Array.isArray(raw.headers)) issues.add(hp, `must be a list of "Name" or "Name: value" strings, got ${describeType(raw.headers)}`);
    else {
      out.headers = [];
      raw.headers.forEach((h, i) => {
        const name = typeof h === 'string' ? h.split(':')[0]!.trim() : '';
        if (typeof h !== 'string' || !HEADER_NAME_RE.test(name)) issues.add(joinPath(hp, i), `${describeType(h)} is not a header ("Name" or "Name: value")`);
        else out.headers!.push(h);
      });
    }
  }
  return issues.count === before ? out : undefined;
}

/** Validates one DNS selector {matchName} or {matchPattern} at `path` (rules.dns entries and toFQDNs). */
export function validateDNS(raw: unknown, path: string, issues: IssueCollector): DNSRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {matchName} or {matchPattern}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['matchName', 'matchPattern'], issues);
  const before = issues.count;
  const name = optString(raw, 'matchName', path, issues);
  const pattern = optString(raw, 'matchPattern', path, issues);
  if (issues.count !== before) return undefined;
  if ((name === undefined) === (pattern === undefined)) {
    issues.add(path, 'must set exactly one of matchName and matchPattern');
    return undefined;
  }
  if (name !== undefined && (name.length > 255 || !DNS_NAME_RE.test(name))) {
    issues.add(joinPath(path, 'matchName'), `${JSON.stringify(name)} is not a DNS name (letters, digits, '-', '_' and '.')`);
    return undefined;
  }
  if (pattern !== undefined && (pattern.length > 255 || !DNS_PATTERN_RE.test(pattern))) {
    issues.add(joinPath(path, 'matchPattern'), `${JSON.stringify(pattern)} is not a DNS pattern (letters, digits, '-', '_', '.' and '*')`);
    return undefined;
  }
  return name !== undefined ? { matchName: name } : { matchPattern: pattern! };
}

function validateKafka(raw: unknown, path: string, issues: IssueCollector): KafkaRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {role | apiKey, apiVersion, clientID, topic}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['role', 'apiKey', 'apiVersion', 'clientID', 'topic'], issues);
  const before = issues.count;
  const out: KafkaRule = {};
  const role = optString(raw, 'role', path, issues);
  const apiKey = optString(raw, 'apiKey', path, issues);
  const apiVersion = optString(raw, 'apiVersion', path, issues);
  const clientID = optString(raw, 'clientID', path, issues);
  const topic = optString(raw, 'topic', path, issues);
  if (role !== undefined) {
    if (role !== 'produce' && role !== 'consume') issues.add(joinPath(path, 'role'), `${JSON.stringify(role)} is not a Kafka role (produce or consume)`);
    else out.role = role;
  }
  if (apiKey !== undefined) {
    if (!Object.hasOwn(KafkaApiKeys, apiKey.toLowerCase())) issues.add(joinPath(path, 'apiKey'), `${JSON.stringify(apiKey)} is not a Kafka API key (${Object.keys(KafkaApiKeys).join(', ')})`);
    else out.apiKey = apiKey.toLowerCase();
  }
  if (role !== undefined && apiKey !== undefined) issues.add(path, 'role and apiKey cannot be combined; use one of them');
  if (apiVersion !== undefined) {
    if (!/^\d{1,5}$/.test(apiVersion)) issues.add(joinPath(path, 'apiVersion'), `${JSON.stringify(apiVersion)} is not a Kafka API version (a number)`);
    else out.apiVersion = apiVersion;
  }
  if (clientID !== undefined) out.clientID = clientID;
  if (topic !== undefined) {
    if (!KAFKA_TOPIC_RE.test(topic)) issues.add(joinPath(path, 'topic'), `${JSON.stringify(topic)} is not a Kafka topic name (1-255 of [a-zA-Z0-9._-])`);
    else out.topic = topic;
  }
  return issues.count === before ? out : undefined;
}

/** Validates `toPorts[].rules` at `path`: exactly one of http, dns, kafka, as a non-empty list. */
export function validateL7Rules(raw: unknown, path: string, issues: IssueCollector): L7Rules | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {http | dns | kafka: [...]}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['http', 'dns', 'kafka'], issues, ['l7proto', 'l7']);
  const before = issues.count;
  const present = (['http', 'dns', 'kafka'] as const).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (present.length !== 1) {
    issues.add(path, present.length === 0 ? 'must set one of http, dns, kafka' : `sets ${present.join(' and ')}; one port rule takes one L7 parser, write separate toPorts entries`);
    return undefined;
  }
  const kind = present[0]!;
  const lp = joinPath(path, kind);
  const list = raw[kind];
  if (!Array.isArray(list)) {
    issues.add(lp, `must be a list, got ${describeType(list)}`);
    return undefined;
  }
  const each = kind === 'http' ? validateHTTP : kind === 'dns' ? validateDNS : validateKafka;
  const out: unknown[] = [];
  list.forEach((r, i) => {
    const v = each(r, joinPath(lp, i), issues);
    if (v) out.push(v);
  });
  if (issues.count !== before) return undefined;
  return { [kind]: out } as L7Rules;
}
