// The Hubble UI backend: a small HTTP server that serves the page and its scripts and styles
// (nothing from the internet), the namespace list (GetNamespaces) and a live flow feed per
// page as server-sent events (a follow GetFlows call to the relay, batched and bounded by
// FlowBatcher). Every query parameter is checked: a bad one is 400 with the reason.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import type { Logger } from '@cilium-ts/process';
import { FlowBatcher } from './flow-batcher.js';
import { flowsRequest, parseFlowQuery, QueryError } from './flow-query.js';
import { RelayFeed, type RelayState } from './relay-feed.js';

/** UiServerOptions configure the backend. */
export interface UiServerOptions {
  /** Host and port to listen on (port 0: any free one). */
  host: string;
  port: number;
  /** Client of the relay's Observer service. */
  relay: observer.ObserverClient;
  logger: Logger;
  /** Most flows queued per page between batches (older dropped past it). */
  maxQueuedFlows?: number;
  /** Batch interval in ms. */
  batchIntervalMs?: number;
  /** Deadline of a GetNamespaces call, ms. */
  relayTimeoutMs?: number;
}

/** RunningUiServer is a started backend. */
export interface RunningUiServer {
  /** `http://host:port/` */
  readonly url: string;
  readonly server: Server;
  /** Pages connected to the live feed. */
  readonly pages: number;
  /** Flows dropped for slow pages since start. */
  readonly droppedFlows: number;
  /** Flows sent to pages since start. */
  readonly sentFlows: number;
  /** Stops accepting, ends every feed, waits for open requests up to timeoutMs. */
  shutdown(options?: { timeoutMs?: number }): Promise<void>;
  readonly logger: Logger;
}

/** DEFAULT_MAX_QUEUED_FLOWS bounds one page's queue. */
export const DEFAULT_MAX_QUEUED_FLOWS = 5000;
/** DEFAULT_BATCH_INTERVAL_MS is how often a page gets a batch. */
export const DEFAULT_BATCH_INTERVAL_MS = 100;

const PAGE_DIR = new URL('./page/', import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const js = 'text/javascript; charset=utf-8';
  const files: [string, string, string][] = [
    ['/', fileURLToPath(new URL('index.html', PAGE_DIR)), 'text/html; charset=utf-8'],
    ['/static/app.css', fileURLToPath(new URL('app.css', PAGE_DIR)), 'text/css; charset=utf-8'],
    // The package exports only its entry points; its ES module build is beside package.json.
    ['/static/dagre.esm.js', join(dirname(require.resolve('@dagrejs/dagre/package.json')), 'dist', 'dagre.esm.js'), js],
  ];
  for (const m of ['app', 'flow-view', 'map-model', 'map-layout', 'layout-client', 'layout-worker', 'map-render', 'flows-table', 'feed']) {
    files.push([`/static/${m}.js`, fileURLToPath(new URL(`${m}.js`, PAGE_DIR)), js]);
  }
  return new Map(files.map(([path, file, type]) => [path, { type, body: readFileSync(file) }]));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** startUiServer starts the backend. */
export async function startUiServer(opts: UiServerOptions): Promise<RunningUiServer> {
  const assets = loadAssets();
  const log = opts.logger;
  const feeds = new Set<{ feed: RelayFeed; batcher: FlowBatcher; res: ServerResponse }>();
  let dropped = 0;
  let sent = 0;
  let relayState: RelayState = { state: 'connecting', message: '' };

  const namespaces = (res: ServerResponse): void => {
    opts.relay.getNamespaces(observer.GetNamespacesRequest.fromPartial({}), new Metadata(), { deadline: Date.now() + (opts.relayTimeoutMs ?? 5000) }, (err, r) => {
      if (err) return sendJson(res, 502, { error: `hubble-relay GetNamespaces failed: ${err.details || err.message}` });
      sendJson(res, 200, { namespaces: r.namespaces.map((n) => ({ cluster: n.cluster, namespace: n.namespace })) });
    });
  };

  const flows = (req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void => {
    const query = parseFlowQuery(params);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': hubble-ui flow feed\n\n');
    const event = (name: string, data: unknown): boolean => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const batcher = new FlowBatcher({
      maxQueued: opts.maxQueuedFlows ?? DEFAULT_MAX_QUEUED_FLOWS,
      intervalMs: opts.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS,
      write: (batch, lost) => {
        sent += batch.length;
        dropped += lost;
        return event('flows', { flows: batch, dropped: lost });
      },
    });
    res.on('drain', () => batcher.drained());
    const feed = new RelayFeed({
      client: opts.relay,
      request: flowsRequest(query),
      logger: log,
      onFlow: (f) => batcher.push(f),
      onState: (s) => {
        relayState = s;
        event('relay', s);
      },
    });
    const entry = { feed, batcher, res };
    feeds.add(entry);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      feed.close();
      batcher.close();
      feeds.delete(entry);
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://hubble-ui.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end(`method ${req.method} not allowed: the Hubble UI only reads\n`);
      return;
    }
    try {
      const asset = assets.get(url.pathname === '/index.html' ? '/' : url.pathname);
      if (asset !== undefined) {
        if ([...url.searchParams.keys()].length > 0) throw new QueryError([...url.searchParams.keys()][0]!, `${url.pathname} takes no query parameters`);
        res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : asset.body);
        return;
      }
      switch (url.pathname) {
        case '/api/namespaces':
          if ([...url.searchParams.keys()].length > 0) throw new QueryError([...url.searchParams.keys()][0]!, '/api/namespaces takes no query parameters');
          return namespaces(res);
        case '/api/flows':
          return flows(req, res, url.searchParams);
        case '/healthz':
          return sendJson(res, 200, { status: 'ok', relay: relayState.state, pages: feeds.size });
        default:
          sendJson(res, 404, { error: `no such path ${url.pathname}` });
      }
    } catch (err) {
      if (err instanceof QueryError) {
        log.info('bad request', { path: url.pathname, parameter: err.parameter, error: err.message });
        return sendJson(res, 400, { error: err.message, parameter: err.parameter });
      }
      log.error('request failed', { path: url.pathname, error: (err as Error).message });
      sendJson(res, 500, { error: 'internal error' });
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/`;
  log.info('serving the Hubble UI', { url });
  return {
    url,
    server,
    logger: log,
    get pages() {
      return feeds.size;
    },
    get droppedFlows() {
      return dropped;
    },
    get sentFlows() {
      return sent;
    },
    async shutdown(options = {}) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const f of feeds) {
        f.feed.close();
        f.batcher.close();
        f.res.end();
      }
      feeds.clear();
      const timer = setTimeout(() => server.closeAllConnections(), options.timeoutMs ?? 5000);
      server.closeIdleConnections();
      await closed;
      clearTimeout(timer);
    },
  };
}
