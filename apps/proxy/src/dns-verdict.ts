// What the DNS proxy does with one message from a pod: forward it to the original
// destination, or answer it itself (REFUSED when the policy denies the name or the peer,
// FORMERR when it is not a query the proxy can read). Pure: no sockets.
import { dnsAllowed } from '@cilium-ts/policy';
import { parseDnsMessage, queryProblem, dnsErrorResponse, DnsFormatError, Rcode, type DnsMessage } from './dns-message.js';
import type { ConnectionContext } from './http-listener.js';

/** The proxy's decision on one DNS message. */
export type DnsVerdict =
  | { action: 'forward'; query: DnsMessage }
  /** Answer with `response` (undefined: too short to answer; drop it). */
  | { action: 'answer'; rcode: number; response: Buffer | undefined; query?: DnsMessage; reason: string };

/**
 * Decides on `payload` sent under `ctx` (undefined: no L7 policy for this endpoint and
 * port, e.g. a stale redirect: REFUSED, fail closed). A peer without rules, or a name no
 * rule matches, is REFUSED; a malformed message or one that is not a single-question
 * standard query is FORMERR.
 */
export function dnsVerdict(ctx: ConnectionContext | undefined, payload: Buffer): DnsVerdict {
  let query: DnsMessage;
  try {
    query = parseDnsMessage(payload);
  } catch (err) {
    if (!(err instanceof DnsFormatError)) throw err;
    return { action: 'answer', rcode: Rcode.FORMERR, response: dnsErrorResponse(payload, Rcode.FORMERR), reason: err.message };
  }
  const problem = queryProblem(query);
  if (problem) return { action: 'answer', rcode: Rcode.FORMERR, response: dnsErrorResponse(payload, Rcode.FORMERR), query, reason: `the message ${problem}` };
  const refuse = (reason: string): DnsVerdict => ({ action: 'answer', rcode: Rcode.REFUSED, response: dnsErrorResponse(payload, Rcode.REFUSED), query, reason });
  if (!ctx) return refuse('no L7 policy for this endpoint and port');
  if (!ctx.policy) return refuse(`peer identity ${ctx.destination.identity} is not allowed on this port`);
  const name = query.questions[0]!.name;
  if (!dnsAllowed(ctx.policy, name)) return refuse(`no DNS rule matches ${name}`);
  return { action: 'forward', query };
}
