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
  /**
   * Whether the L7 proxy has acknowledged the redirect of `direction`'s endpoint (the source
   * for egress, the destination for ingress) to `proxyPort`, as the datapath's proxy_ready
   * map says. Absent: never (traffic an L7 rule covers is traced as dropped, fail-closed).
   */
  proxyReady?: (direction: Direction, proxyPort: number) => boolean;
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
  /**
   * Set when an L7 rule covers the traffic: the proxy listener port it is redirected to.
   * Until the proxy has acknowledged it (TraceRequest.proxyReady), such traffic is DENIED
   * (fail-closed, drop reason 165) even when an L4 rule allows the same port, as the
   * datapath does; once acknowledged it is ALLOWED through the proxy.
   */
  proxyPort?: number;
  /** With proxyPort: whether the proxy had acknowledged the redirect. */
  proxyReady?: boolean;
  /** The datapath's drop reason when the verdict is DENIED: 133 no rule allows it, 181 a deny rule, 165 L7 proxy not ready. */
  dropReason?: number;
}

/** Drop reason of traffic an L7 rule covers while its proxy is not ready (the datapath's fail-closed). */
export const DROP_REASON_L7_PROXY_NOT_READY = 165;
const FAIL_CLOSED_TEXT = 'No configuration available to perform policy decision';

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
  proxyReady: (direction: Direction, proxyPort: number) => boolean,
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
  const redirecting = allowed.filter((s) => s.redirectFor(protocol, port) !== undefined);
  for (const s of sections) {
    const kind = s.deny ? 'Denies' : 'Allows';
    const proxy = matches(s) ? s.redirectFor(protocol, port) : undefined;
    const tail = proxy !== undefined
      ? proxyReady(dir, proxy) ? `redirects to L7 proxy ${proxy} (ready)` : `redirects to L7 proxy ${proxy}, which is not ready: dropped (fail-closed)`
      : matches(s) ? 'matches' : s.selectsPeer(peerId, peer) ? 'peer matches, port does not' : 'peer does not match';
    lines.push(`    Rule ${ruleName(s.rule, s.ruleIndex)}: ${kind} ${dir === 'ingress' ? 'from' : 'to'} ${s.describePeers()} on ${s.describePorts()}: ${tail}`);
    if (s.unresolvedPorts.length) lines.push(`      named ports not resolved (ignored): ${s.unresolvedPorts.join(', ')}`);
  }
  const names = (list: CompiledSection[]): string[] => [...new Set(list.map((s) => ruleName(s.rule, s.ruleIndex)))];
  let verdict: 'ALLOWED' | 'DENIED';
  let dropReason: number | undefined;
  let proxyPort: number | undefined;
  if (denied.length > 0) {
    verdict = 'DENIED';
    dropReason = 181;
    lines.push(`Found deny rule ${names(denied).join(', ')}`);
  } else if (redirecting.length > 0) {
    // The L7 redirect wins over plain L4 allows of the same traffic: it passes only through a ready proxy.
    proxyPort = redirecting[0]!.redirectFor(protocol, port)!;
    if (proxyReady(dir, proxyPort)) {
      verdict = 'ALLOWED';
      lines.push(`Found L7 rule ${names(redirecting).join(', ')}: redirected to L7 proxy ${proxyPort} (ready), which enforces its L7 rules`);
    } else {
      verdict = 'DENIED';
      dropReason = DROP_REASON_L7_PROXY_NOT_READY;
      lines.push(`Found L7 rule ${names(redirecting).join(', ')}: redirected to L7 proxy ${proxyPort}, which is not ready`);
      lines.push(`Dropped (fail-closed): ${FAIL_CLOSED_TEXT} (drop reason ${DROP_REASON_L7_PROXY_NOT_READY})`);
    }
  } else if (allowed.length > 0) {
    verdict = 'ALLOWED';
    lines.push(`Found allow rule ${names(allowed).join(', ')}`);
  } else if (enforced) {
    verdict = 'DENIED';
    dropReason = 133;
    lines.push(`No rule allows it and ${dir} is enforced (default deny)`);
  } else {
    verdict = 'ALLOWED';
    lines.push(`No rule puts the ${who} in ${dir} default deny: allowed`);
  }
  lines.push(`${dir[0]!.toUpperCase()}${dir.slice(1)} verdict: ${verdict.toLowerCase()}`);
  const out: DirectionTrace = { verdict, enforced, rulesSelected: selected.length, allowedBy: names(allowed), deniedBy: names(denied) };
  if (proxyPort !== undefined) {
    out.proxyPort = proxyPort;
    out.proxyReady = verdict === 'ALLOWED';
  }
  if (dropReason !== undefined) out.dropReason = dropReason;
  return out;
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
  const ready = req.proxyReady ?? (() => false);
  const egress = traceDirection(repo, 'egress', src, dst, dstId, proto, port, lines, ready);
  const ingress = traceDirection(repo, 'ingress', dst, src, srcId, proto, port, lines, ready);
  const verdict = egress.verdict === 'ALLOWED' && ingress.verdict === 'ALLOWED' ? 'ALLOWED' : 'DENIED';
  lines.push(`Final verdict: ${verdict}`);
  return { verdict, egress, ingress, lines };
}
