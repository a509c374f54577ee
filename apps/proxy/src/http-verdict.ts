// What HTTP/1.1 and HTTP/2 streams share: the verdict of one request under its
// connection's L7 policy, the hop-by-hop headers that are never forwarded, and the body
// of a denial (Cilium's proxy answers `403 Forbidden` / `Access denied`).
import { httpAllowed, type L7Policy } from '@cilium-ts/policy';
import type { ConnectionContext } from './connection-context.js';

/** Connection-specific headers (RFC 9110 section 7.6.1 and the classic list): dropped when forwarding. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/** The body of a denied request's 403. */
export const ACCESS_DENIED = Buffer.from('Access denied');

/** One request as the rules see it. */
export interface RequestFacts {
  method: string;
  /** The request target (path with the query). */
  path: string;
  /** Host (HTTP/1.1) or :authority (HTTP/2). */
  host: string | undefined;
  /** Forwarded headers, names as sent. */
  headers: ReadonlyArray<readonly [string, string]>;
}

/** True when the request passes the peer's L7 policy of its connection (no policy: denied). */
export function requestAllowed(ctx: ConnectionContext, req: RequestFacts): boolean {
  if (ctx.policy === undefined) return false;
  return httpAllowed(ctx.policy as L7Policy, {
    method: req.method,
    path: req.path,
    host: req.host,
    headers: Object.fromEntries(req.headers.map(([k, v]) => [k.toLowerCase(), v])),
  });
}
