// The fromCIDR / fromCIDRSet peers of a rule (prefixes are @cilium-ts/netaddr's).

import { formatPrefix, parsePrefix, prefixContains, type Prefix } from '@cilium-ts/netaddr';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** A CIDR peer in a rule: `cidr` with optional `except` sub-prefixes. */
export interface CIDRRule {
  cidr: string;
  except?: string[];
}

/** Validates a `fromCIDR` / `toCIDR` entry; returns the normalized CIDR rule. */
export function validateCIDR(raw: unknown, path: string, issues: IssueCollector): CIDRRule | undefined {
  if (typeof raw !== 'string') {
    issues.add(path, `must be a CIDR string, got ${describeType(raw)}`);
    return undefined;
  }
  const p = parsePrefix(raw);
  if (typeof p === 'string') {
    issues.add(path, p);
    return undefined;
  }
  return { cidr: formatPrefix(p) };
}

/** Validates a `fromCIDRSet` / `toCIDRSet` entry {cidr, except}. */
export function validateCIDRSetEntry(raw: unknown, path: string, issues: IssueCollector): CIDRRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {cidr, except}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['cidr', 'except'], issues, ['cidrGroupRef', 'cidrGroupSelector']);
  const before = issues.count;
  let outer: Prefix | undefined;
  if (raw.cidr === undefined) issues.add(joinPath(path, 'cidr'), 'is required');
  else if (typeof raw.cidr !== 'string') issues.add(joinPath(path, 'cidr'), `must be a CIDR string, got ${describeType(raw.cidr)}`);
  else {
    const p = parsePrefix(raw.cidr);
    if (typeof p === 'string') issues.add(joinPath(path, 'cidr'), p);
    else outer = p;
  }
  const except: string[] = [];
  if (raw.except !== undefined && raw.except !== null) {
    const ep = joinPath(path, 'except');
    if (!Array.isArray(raw.except)) issues.add(ep, `must be a list of CIDRs, got ${describeType(raw.except)}`);
    else {
      raw.except.forEach((e, i) => {
        const ip = joinPath(ep, i);
        if (typeof e !== 'string') {
          issues.add(ip, `must be a CIDR string, got ${describeType(e)}`);
          return;
        }
        const p = parsePrefix(e);
        if (typeof p === 'string') issues.add(ip, p);
        else if (outer && !prefixContains(outer, p)) issues.add(ip, `${JSON.stringify(e)} is not inside cidr ${raw.cidr as string}`);
        else except.push(formatPrefix(p));
      });
    }
  }
  if (issues.count !== before || !outer) return undefined;
  const out: CIDRRule = { cidr: formatPrefix(outer) };
  if (except.length > 0) out.except = except;
  return out;
}
