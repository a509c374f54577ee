// Docker's plugin transport: HTTP/1.1 POSTs of JSON on a unix socket (Docker finds it as
// /run/docker/plugins/<name>.sock); answers are JSON with Docker's plugin content type, an
// error is {"Err": message} with HTTP 400 (bad request) or 500.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { Logger } from '@cilium-ts/process';
import { PluginFailedError, PluginRequestError } from './errors.js';

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** A handler: decoded request body in, answer out (throws PluginRequestError / PluginFailedError). */
export type PluginHandler = (body: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Serves handlers (by path) on the unix socket at path; resolves once it listens. */
export async function servePlugin(path: string, handlers: Record<string, PluginHandler>, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/\?.*$/, '');
      const reply = (status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      void (async () => {
        try {
          const handler = handlers[method];
          if (req.method !== 'POST' || !handler) throw new PluginRequestError(method || '(none)', `unknown call ${req.method} ${method}`);
          let body: unknown = {};
          if (raw.trim() !== '') {
            try {
              body = JSON.parse(raw);
            } catch (err) {
              throw new PluginRequestError(method, `request body is not JSON: ${(err as Error).message}`);
            }
          }
          if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PluginRequestError(method, 'request body must be a JSON object');
          const out = await handler(body as Record<string, unknown>);
          logger.debug('served', { call: method });
          reply(200, out);
        } catch (err) {
          const status = err instanceof PluginRequestError || err instanceof PluginFailedError ? err.status : 500;
          const msg = err instanceof PluginRequestError || err instanceof PluginFailedError ? err.message : `cilium-docker ${method}: ${(err as Error).message}`;
          logger.warn('call failed', { call: method, status, error: msg });
          reply(status, { Err: msg });
        }
      })();
    });
  });
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  return server;
}
