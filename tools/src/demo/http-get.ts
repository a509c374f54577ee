// One HTTP GET with a hard timeout and no connection reuse: the unit of demo traffic.
import { request } from 'node:http';

/** Outcome of one GET. */
export type GetResult = { ok: true; status: number; ms: number; body: string } | { ok: false; error: string; ms: number };

/** GETs http://host:port<path> (default /) and resolves (never rejects) with the status or the failure. */
export function httpGet(host: string, port: number, timeoutMs: number, path = '/'): Promise<GetResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: GetResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, ms: Date.now() - started, body }));
      res.on('error', (err) => finish({ ok: false, error: err.message, ms: Date.now() - started }));
    });
    const timer = setTimeout(() => {
      finish({ ok: false, error: `timeout after ${timeoutMs} ms`, ms: Date.now() - started });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => finish({ ok: false, error: err.message, ms: Date.now() - started }));
    req.end();
  });
}

/** Value of `--flag value` in argv, or the default. */
export function flagValue(argv: readonly string[], flag: string, fallback: string): string {
  const k = argv.indexOf(flag);
  return k >= 0 && argv[k + 1] !== undefined ? argv[k + 1]! : fallback;
}
