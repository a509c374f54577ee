// tracePolicy: would traffic from one set of labels to another be allowed, and which rules decide.

import { type CompiledSection, compileSections } from './compiled-section.js';
import type { IdentityLookup } from './identity.js';
import { LabelSet } from './label-set.js';
import { protocolName, protocolNumber } from './protocol.js';
import type { Repository } from './repository.js';
import { type Direction, ruleEnforces, ruleName } from './rule.js';

/** What to trace: the two endpoints' labels and the packet's destination port and protocol. */
export interface TraceRequest {
  srcLabels: string[];
  dstLabels: string[];
  /** Destination port (or ICMP type); 0 or absent: no port (only port-less rules match). */
  dport?: number;
  /** Protocol name (TCP, UDP, SCTP, ICMP, ICMPv6) or number; default TCP when a port is given, else ANY. */
  protocol?: string | number;
}

/** The verdict of one direction. */
export interface DirectionTrace {
  verdict: 'ALLOWED' | 'DENIED';
  /** True when the endpoint is in default deny for this direction. */
  enforced: boolean;
  /** Number of rules selecting the endpoint. */
  rulesSelected: number;
  /** Names of the rules whose allow sections match. */
  allowedBy: string[];
  /** Names of the rules whose deny sections match. */
  deniedBy: string[];
}

/** The result of tracePolicy. */
export interface TraceResult {
  verdict: 'ALLOWED' | 'DENIED';
  egress: DirectionTrace;
  ingress: DirectionTrace;
  /** A human explanation, one line per step, naming the deciding rules. */
  lines: string[];
}

/** Thrown when a trace request is malformed. */
export class TraceRequestError extends Error {
  override readonly name = 'TraceRequestError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`policy trace: ${field}: ${reason}`);
  }
}

function findIdentity(identities: IdentityLookup | undefined, labels: LabelSet): number {
  if (!identities) return -1;
  const want = labels.toString();
  for (const [id, ls] of identities.all()) {
    try {
      if (new LabelSet(ls).toString() === want) return id;
    } catch {
      // skip malformed
    }
  }
  return -1;
}

function traceDirection(
  repo: Repository,
  dir: Direction,
  ep: LabelSet,
  peer: LabelSet,
  peerId: number,
  protocol: number,
  port: number,
  lines: string[],
): DirectionTrace {
  const who = dir === 'egress' ? 'source' : 'destination';
  lines.push(`Resolving ${dir} policy for ${who} [${ep.strings.join(' ')}]`);
  const selected = repo.selecting(ep);
  const enforced = selected.some((s) => ruleEnforces(s.rule, dir));
  for (const s of selected) lines.push(`* Rule ${ruleName(s.rule, s.index)}: selected`);
  lines.push(`${selected.length}/${repo.size} rules selected`);
  const matches = (s: CompiledSection): boolean => s.selectsPeer(peerId, peer) && s.opensPort(protocol, port);
  const sections = compileSections(selected, dir);
  const allowed = sections.filter((s) => !s.deny && matches(s));
  const denied = sections.filter((s) => s.deny && matches(s));
  for (const s of sections) {
    const kind = s.deny ? 'Denies' : 'Allows';
    const tail = matches(s) ? 'matches' : s.selectsPeer(peerId, peer) ? 'peer matches, port does not' : 'peer does not match';
    lines.push(`    Rule ${ruleName(s.rule, s.ruleIndex)}: ${kind} ${dir === 'ingress' ? 'from' : 'to'} ${s.describePeers()} on ${s.describePorts()}: ${tail}`);
    if (s.unresolvedPorts.length) lines.push(`      named ports not resolved (ignored): ${s.unresolvedPorts.join(', ')}`);
  }
  const names = (list: CompiledSection[]): string[] => [...new Set(list.map((s) => ruleName(s.rule, s.ruleIndex)))];
  let verdict: 'ALLOWED' | 'DENIED';
  if (denied.length > 0) {
    verdict = 'DENIED';
    lines.push(`Found deny rule ${names(denied).join(', ')}`);
  } else if (allowed.length > 0) {
    verdict = 'ALLOWED';
    lines.push(`Found allow rule ${names(allowed).join(', ')}`);
  } else if (enforced) {
    verdict = 'DENIED';
    lines.push(`No rule allows it and ${dir} is enforced (default deny)`);
  } else {
    verdict = 'ALLOWED';
    lines.push(`No rule puts the ${who} in ${dir} default deny: allowed`);
  }
  lines.push(`${dir[0]!.toUpperCase()}${dir.slice(1)} verdict: ${verdict.toLowerCase()}`);
  return { verdict, enforced, rulesSelected: selected.length, allowedBy: names(allowed), deniedBy: names(denied) };
}

/**
 * Traces traffic from `srcLabels` to `dstLabels` on `dport`/`protocol`: the egress policy
 * of the source and the ingress policy of the destination, with the same semantics as
 * computeEndpointPolicy. `identities` (optional) resolves the labels to identity numbers
 * for the reserved-identity and CIDR checks; labels alone are used otherwise.
 */
export function tracePolicy(repo: Repository, req: TraceRequest, identities?: IdentityLookup): TraceResult {
  const port = req.dport ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TraceRequestError('dport', `${String(req.dport)} is not a port number (0-65535)`);
  const proto = protocolNumber(req.protocol ?? (port !== 0 ? 'TCP' : 'ANY'));
  if (proto === undefined) throw new TraceRequestError('protocol', `${JSON.stringify(req.protocol)} is not a protocol (TCP, UDP, SCTP, ICMP, ICMPv6, ANY or a number)`);
  let src: LabelSet;
  let dst: LabelSet;
  try {
    src = new LabelSet(req.srcLabels);
  } catch (e) {
    throw new TraceRequestError('srcLabels', (e as Error).message);
  }
  try {
    dst = new LabelSet(req.dstLabels);
  } catch (e) {
    throw new TraceRequestError('dstLabels', (e as Error).message);
  }
  const srcId = findIdentity(identities, src);
  const dstId = findIdentity(identities, dst);
  const lines: string[] = [];
  const portText = port === 0 ? `any/${protocolName(proto)}` : `${port}/${protocolName(proto)}`;
  lines.push(`Tracing From: [${src.strings.join(' ')}]${srcId >= 0 ? ` (identity ${srcId})` : ''} => To: [${dst.strings.join(' ')}]${dstId >= 0 ? ` (identity ${dstId})` : ''} Ports: [${portText}]`);
  const egress = traceDirection(repo, 'egress', src, dst, dstId, proto, port, lines);
  const ingress = traceDirection(repo, 'ingress', dst, src, srcId, proto, port, lines);
  const verdict = egress.verdict === 'ALLOWED' && ingress.verdict === 'ALLOWED' ? 'ALLOWED' : 'DENIED';
  lines.push(`Final verdict: ${verdict}`);
  return { verdict, egress, ingress, lines };
}
