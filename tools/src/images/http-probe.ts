// The HEALTHCHECK of the service images that serve HTTP rather than gRPC: the Hubble UI
// (GET /healthz) and cilium-docker (Docker's POST /Plugin.Activate on its plugin socket).
// Exits 0 on a 2xx answer, 1 otherwise (other status, unreachable, no answer in time), 2 on
// a usage error.
// Usage: node http-probe.js [--post] [--unix-socket PATH] URL
import { request } from 'node:http';

/** How long one probe may take before it counts as a failure. */
export const HTTP_PROBE_DEADLINE_MS = 3000;

/** What to ask: the URL, the method, and a unix socket to reach it through (the URL's host is then only the Host header). */
export interface HttpProbe {
  url: URL;
  method: 'GET' | 'POST';
  unixSocket?: string;
}

/** A command line the probe does not take. */
export class HttpProbeUsageError extends Error {
  constructor(reason: string) {
    super(`${reason}\nusage: http-probe [--post] [--unix-socket PATH] URL   (URL: http://host:port/path)`);
    this.name = 'HttpProbeUsageError';
  }
}

/** Parses the probe's command line (argv after the script). */
export function parseHttpProbeArgs(argv: readonly string[]): HttpProbe {
  let method: HttpProbe['method'] = 'GET';
  let unixSocket: string | undefined;
  let url: URL | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--post') method = 'POST';
    else if (a === '--unix-socket') {
      const path = argv[++i];
      if (!path?.startsWith('/')) throw new HttpProbeUsageError(`--unix-socket: "${path ?? ''}" is not an absolute path`);
      unixSocket = path;
    } else if (a.startsWith('-')) throw new HttpProbeUsageError(`unknown flag ${a}`);
    else if (url !== undefined) throw new HttpProbeUsageError(`one URL only, got "${a}" too`);
    else {
      try {
        url = new URL(a);
      } catch {
        throw new HttpProbeUsageError(`"${a}" is not a URL`);
      }
      if (url.protocol !== 'http:') throw new HttpProbeUsageError(`"${a}": only http:// URLs`);
    }
  }
  if (url === undefined) throw new HttpProbeUsageError('no URL');
  return { url, method, ...(unixSocket ? { unixSocket } : {}) };
}

/** Sends the probe's request; code 0 on a 2xx status. A POST carries the JSON body {}. */
export function probeHttp(p: HttpProbe): Promise<{ code: 0 | 1; message: string }> {
  const what = `${p.method} ${p.url.href}${p.unixSocket ? ` on ${p.unixSocket}` : ''}`;
  return new Promise((resolve) => {
    const body = p.method === 'POST' ? '{}' : undefined;
    const req = request(p.url, {
      method: p.method,
      timeout: HTTP_PROBE_DEADLINE_MS,
      ...(p.unixSocket ? { socketPath: p.unixSocket } : {}),
      headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
    }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ code: status >= 200 && status < 300 ? 0 : 1, message: `${what}: HTTP ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HTTP_PROBE_DEADLINE_MS} ms`)));
    req.on('error', (err) => resolve({ code: 1, message: `${what}: ${err.message}` }));
    req.end(body);
  });
}

let probe: HttpProbe;
try {
  probe = parseHttpProbeArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`http-probe: ${(err as Error).message}\n`);
  process.exit(2);
}
const r = await probeHttp(probe);
(r.code === 0 ? process.stdout : process.stderr).write(r.message + '\n');
process.exit(r.code);
