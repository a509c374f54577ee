// Port rules: `toPorts` entries ({ports: [{port, endPort, protocol}]}) and their validation.

import { type L7Rules, validateL7Rules } from './l7.js';
import { type L4ProtocolName, parseL4Protocol } from './protocol.js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** One port/protocol of a port rule. `port` is a number (0 = any) or a named port. */
export interface PortProtocol {
  port?: string;
  endPort?: number;
  protocol?: L4ProtocolName;
}

/** A `toPorts` entry: ports, and optional L7 rules enforced by the proxy on them. */
export interface PortRule {
  ports?: PortProtocol[];
  rules?: L7Rules;
}

/** Port rule fields of Cilium that this version recognises but does not implement. */
const UNSUPPORTED_PORT_RULE_FIELDS = ['listener', 'serverNames', 'originatingTLS', 'terminatingTLS'];
/** Named ports: IANA service name syntax (lowercase letters, digits, '-', at least one letter, <= 15). */
const NAMED_PORT_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `name` is not a valid named port, or undefined. */
export function namedPortProblem(name: string): string | undefined {
  if (name.length > 15 || !NAMED_PORT_RE.test(name) || !/[a-z]/.test(name) || name.includes('--')) {
    return `${JSON.stringify(name)} is not a port number (1-65535) or a valid port name (lowercase letters, digits and '-', at most 15 characters, with a letter)`;
  }
  return undefined;
}

/** True when `port` is a named port (not a decimal number). */
export function isNamedPort(port: string): boolean {
  return !/^\d+$/.test(port);
}

/** Validates one `toPorts` entry at `path`. */
export function validatePortRule(raw: unknown, path: string, issues: IssueCollector): PortRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {ports: [...]}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['ports', 'rules'], issues, UNSUPPORTED_PORT_RULE_FIELDS);
  const out: PortRule = {};
  if (raw.rules !== undefined && raw.rules !== null) {
    const rp = joinPath(path, 'rules');
    const l7 = validateL7Rules(raw.rules, rp, issues);
    if (l7) {
      out.rules = l7;
      // HTTP and Kafka run over TCP: UDP / SCTP ports cannot carry them.
      if (!l7.dns && Array.isArray(raw.ports)) {
        raw.ports.forEach((p, i) => {
          const proto = isObject(p) && typeof p.protocol === 'string' ? p.protocol.toUpperCase() : undefined;
          if (proto === 'UDP' || proto === 'SCTP') issues.add(joinPath(joinPath(joinPath(path, 'ports'), i), 'protocol'), `${proto} cannot carry ${l7.http ? 'HTTP' : 'Kafka'} rules; use TCP (or ANY, which then opens TCP only)`);
        });
      }
    }
  }
  if (raw.ports !== undefined && raw.ports !== null) {
    const pp = joinPath(path, 'ports');
    if (!Array.isArray(raw.ports)) issues.add(pp, `must be a list, got ${describeType(raw.ports)}`);
    else {
      out.ports = [];
      raw.ports.forEach((p, i) => {
        const v = validatePortProtocol(p, joinPath(pp, i), issues);
        if (v) out.ports!.push(v);
      });
    }
  }
  return out;
}

function validatePortProtocol(raw: unknown, path: string, issues: IssueCollector): PortProtocol | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {port, endPort, protocol}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['port', 'endPort', 'protocol'], issues);
  const before = issues.count;
  const out: PortProtocol = {};
  let numeric: number | undefined;
  const pp = joinPath(path, 'port');
  if (raw.port !== undefined && raw.port !== null) {
    if (typeof raw.port === 'number') {
      if (!Number.isInteger(raw.port) || raw.port < 0 || raw.port > 65535) issues.add(pp, `${raw.port} is not a port number (1-65535)`);
      else numeric = raw.port;
    } else if (typeof raw.port === 'string') {
      if (/^\d+$/.test(raw.port)) {
        const n = Number(raw.port);
        if (n > 65535 || raw.port.length > 5) issues.add(pp, `${JSON.stringify(raw.port)} is not a port number (1-65535)`);
        else numeric = n;
      } else if (/^[0-9]/.test(raw.port) || raw.port === '') {
        issues.add(pp, `${JSON.stringify(raw.port)} is not a port number`);
      } else {
        const prob = namedPortProblem(raw.port);
        if (prob) issues.add(pp, prob);
        else out.port = raw.port;
      }
    } else {
      issues.add(pp, `must be a port number or name, got ${describeType(raw.port)}`);
    }
    if (numeric !== undefined) out.port = String(numeric);
  }
  if (raw.endPort !== undefined && raw.endPort !== null) {
    const ep = joinPath(path, 'endPort');
    if (typeof raw.endPort !== 'number' || !Number.isInteger(raw.endPort) || raw.endPort < 1 || raw.endPort > 65535) {
      issues.add(ep, `${describeType(raw.endPort)} is not a port number (1-65535)`);
    } else if (out.port === undefined || numeric === undefined || numeric === 0) {
      if (issues.count === before) issues.add(ep, 'requires a non-zero numeric port to start the range');
    } else if (raw.endPort < numeric) {
      issues.add(ep, `${raw.endPort} is lower than port ${numeric}; endPort must be >= port`);
    } else if (raw.endPort > numeric) {
      out.endPort = raw.endPort;
    }
  }
  if (raw.protocol !== undefined && raw.protocol !== null) {
    const prp = joinPath(path, 'protocol');
    const p = typeof raw.protocol === 'string' ? parseL4Protocol(raw.protocol) : undefined;
    if (!p) issues.add(prp, `${describeType(raw.protocol)} is not a protocol (TCP, UDP, SCTP or ANY)`);
    else out.protocol = p;
  }
  return issues.count === before ? out : undefined;
}
