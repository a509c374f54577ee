// nx run hubble-ui:bench — the Hubble UI's figures, each against a baseline in the same run:
// 1. backend forwarding: flows/s a page receives through the backend from a relay streaming
//    20,000 flows/s, against a gRPC client reading the same relay directly (decode + view);
//    backend heap with a page that stops reading (bounded queue: drops) against no page;
// 2. page frame time p95 (requestAnimationFrame intervals in Chromium) while 5,000 flows/s
//    arrive, against the same page with no flows (and, with --baseline-page DIR, another
//    build of the page's static files, e.g. the previous commit's dist/page, in the same run);
// 3. layout (dagre in the page's layout worker, request to positions back) of 200 workloads /
//    1,000 port edges, against 20 / 100.
import { spawn, type ChildProcess } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import puppeteer from 'puppeteer-core';
import { toFlowView } from '../flow-view.js';
import { startUiServer, type RunningUiServer } from '../ui-server.js';

const RELAY_MAIN = fileURLToPath(new URL('./synthetic-relay.js', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SECONDS = Number(process.env.UI_BENCH_SECONDS ?? 5);
const BASELINE_PAGE = process.argv.includes('--baseline-page') ? process.argv[process.argv.indexOf('--baseline-page') + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'cts-ui-bench-'));
const children: ChildProcess[] = [];
const quiet = createLogger('hubble-ui-bench', { level: 'error' });

async function relay(name: string, perSecond: number): Promise<string> {
  const address = `unix://${join(dir, `${name}.sock`)}`;
  const child = spawn(process.execPath, [RELAY_MAIN, '--serve', address, String(perSecond), '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve()));
  return address;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Reads a relay directly for SECONDS: flows/s decoded and turned into views. */
async function directRate(address: string): Promise<number> {
  const client = new observer.ObserverClient(address, credentials.createInsecure());
  const call = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true }), new Metadata());
  let n = 0;
  call.on('data', (r: observer.GetFlowsResponse) => {
    if (r.flow) toFlowView(r.flow);
    n++;
  });
  call.on('error', () => {});
  await sleep(1000);
  const start = n;
  await sleep(SECONDS * 1000);
  const rate = (n - start) / SECONDS;
  call.cancel();
  client.close();
  return rate;
}

/** Opens the SSE feed; counts flows; `pause` stops reading (a page that fell behind). */
function sseClient(url: string): { count: () => number; pause: () => void; close: () => void } {
  let n = 0;
  let res: IncomingMessage | undefined;
  let buf = '';
  const req = get(`${url}api/flows?history=0`, (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (ev.startsWith('event: flows')) n += (JSON.parse(ev.slice(ev.indexOf('data: ') + 6)) as { flows: unknown[] }).flows.length;
      }
    });
  });
  req.on('error', () => {});
  return { count: () => n, pause: () => res?.pause(), close: () => req.destroy() };
}

async function ui(address: string): Promise<RunningUiServer> {
  const client = new observer.ObserverClient(address, credentials.createInsecure());
  return startUiServer({ host: '127.0.0.1', port: 0, relay: client, logger: quiet });
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function main(): Promise<void> {
  const rows: [string, string][] = [];
  // 1. forwarding
  const fast = await relay('fast', 20_000);
  const base = await directRate(fast);
  const server = await ui(fast);
  const page = sseClient(server.url);
  await sleep(1000);
  const c0 = page.count();
  await sleep(SECONDS * 1000);
  const viaUi = (page.count() - c0) / SECONDS;
  page.close();
  await sleep(500);
  const heapIdle = heapMb();
  const slow = sseClient(server.url);
  await sleep(300);
  slow.pause();
  const dropped0 = server.droppedFlows;
  await sleep(SECONDS * 1000);
  const heapStalled = heapMb();
  const droppedStalled = server.droppedFlows - dropped0;
  await sleep(SECONDS * 1000);
  const heapStalled2 = heapMb();
  slow.close();
  await server.shutdown();
  rows.push(['relay read directly (baseline), flows/s', base.toFixed(0)]);
  rows.push(['through the UI backend to a page (SSE), flows/s', `${viaUi.toFixed(0)} (${(viaUi / base).toFixed(2)} of baseline; offered 20,000/s)`]);
  rows.push(['backend heap, no page (baseline)', `${heapIdle.toFixed(1)} MiB`]);
  rows.push([`backend heap, a page not reading for ${SECONDS} s / ${2 * SECONDS} s`, `${heapStalled.toFixed(1)} / ${heapStalled2.toFixed(1)} MiB (${(heapStalled2 / heapIdle).toFixed(2)}x; ${droppedStalled} flows dropped in the first ${SECONDS} s)`]);

  // 2 + 3 in Chromium
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    let pageRuns = 0;
    const frames = async (rate: number, pageDir?: string): Promise<{ p95: number; flows: number }> => {
      const r = await relay(`page-${rate}-${++pageRuns}`, rate);
      const s = await ui(r);
      const p = await browser.newPage();
      if (pageDir !== undefined) {
        // The other build's page, modules and style, served in place of this build's.
        await p.setRequestInterception(true);
        p.on('request', (req) => {
          if (new URL(req.url()).pathname === '/') return void req.respond({ status: 200, contentType: 'text/html', body: readFileSync(join(pageDir, 'index.html')) });
          const m = /\/static\/([a-z-]+)\.(js|css)$/.exec(req.url());
          if (m === null || m[1] === 'dagre.esm') return void req.continue();
          void req.respond({ status: 200, contentType: m[2] === 'js' ? 'text/javascript' : 'text/css', body: readFileSync(join(pageDir, `${m[1]}.${m[2]}`)) });
        });
      }
      await p.setViewport({ width: 1400, height: 1000 });
      await p.goto(s.url, { waitUntil: 'load' });
      await sleep(3000);
      const result = await p.evaluate(async (ms: number) => {
        const deltas: number[] = [];
        const before = (window as unknown as { hubbleUi: { map: { version: number } } }).hubbleUi.map.version;
        await new Promise<void>((resolve) => {
          let last = performance.now();
          const end = last + ms;
          const f = (t: number): void => {
            deltas.push(t - last);
            last = t;
            if (t < end) requestAnimationFrame(f);
            else resolve();
          };
          requestAnimationFrame(f);
        });
        return { deltas, flows: (window as unknown as { hubbleUi: { map: { version: number } } }).hubbleUi.map.version - before };
      }, SECONDS * 1000);
      await p.close();
      await s.shutdown();
      return { p95: pct(result.deltas, 95), flows: result.flows / SECONDS };
    };
    const idle = await frames(0);
    const busy = await frames(5000);
    rows.push(['page frame time p95, no flows (baseline)', `${idle.p95.toFixed(1)} ms`]);
    rows.push(['page frame time p95, 5,000 flows/s offered', `${busy.p95.toFixed(1)} ms (${(busy.p95 / idle.p95).toFixed(2)}x baseline; ${busy.flows.toFixed(0)} flows/s drawn; target < 50 ms)`]);
    if (BASELINE_PAGE !== undefined) {
      const other = await frames(5000, BASELINE_PAGE);
      const again = await frames(5000);
      rows.push([`  the same, page of ${BASELINE_PAGE}`, `${other.p95.toFixed(1)} ms (${(other.p95 / idle.p95).toFixed(2)}x baseline; ${other.flows.toFixed(0)} flows/s drawn)`]);
      rows.push(['  the same, this page again', `${again.p95.toFixed(1)} ms (${(again.p95 / idle.p95).toFixed(2)}x baseline; ${again.flows.toFixed(0)} flows/s drawn)`]);
    }

    const r = await relay('layout', 0);
    const s = await ui(r);
    const p = await browser.newPage();
    await p.goto(s.url, { waitUntil: 'load' });
    const layout = await p.evaluate(async () => {
      const model = (await import('/static/map-model.js' as string)) as typeof import('../page/map-model.js');
      const client = (await import('/static/layout-client.js' as string)) as typeof import('../page/layout-client.js');
      let done: ((l: { ms: number; mode: string }) => void) | undefined;
      const worker = new client.LayoutClient(
        (l) => done?.(l),
        (message) => {
          throw new Error(message);
        },
      );
      // Wall time from the request to the positions back in the page (the worker's time in brackets).
      const time = async (nodes: number, edges: number): Promise<{ wall: number; worker: number; mode: string; pairs: number }> => {
        const m = new model.ServiceMap();
        for (let i = 0; i < edges; i++) {
          const a = i % nodes;
          const b = (i * 7 + 1 + Math.floor(i / nodes)) % nodes;
          const w = (k: number) => ({ id: `ns${k % 5}/app${k}`, namespace: `ns${k % 5}`, name: `app${k}`, pod: '' });
          m.add({ time: 0, node: 'n1', source: w(a), destination: w(b === a ? (b + 1) % nodes : b), port: 80 + (i % 5), protocol: 'tcp', verdict: 'FORWARDED', l7: '', summary: '', reply: false });
        }
        const t0 = performance.now();
        const l = await new Promise<{ ms: number; mode: string }>((resolve) => {
          done = resolve;
          worker.request(m);
        });
        return { wall: performance.now() - t0, worker: l.ms, mode: l.mode, pairs: m.edges.size };
      };
      const median = async (nodes: number, edges: number) => {
        const r = [await time(nodes, edges), await time(nodes, edges), await time(nodes, edges)].sort((x, y) => x.wall - y.wall);
        return r[1]!;
      };
      await time(20, 100);
      return { small: await median(20, 100), big: await median(200, 1000) };
    });
    await p.close();
    await s.shutdown();
    rows.push(['layout 20 workloads / 100 port edges (baseline), median of 3', `${layout.small.wall.toFixed(0)} ms (${layout.small.pairs} pairs, ${layout.small.mode}, worker ${layout.small.worker.toFixed(0)} ms)`]);
    rows.push(['layout 200 workloads / 1,000 port edges, median of 3', `${layout.big.wall.toFixed(0)} ms (${(layout.big.wall / layout.small.wall).toFixed(1)}x baseline; ${layout.big.pairs} pairs, ${layout.big.mode}, worker ${layout.big.worker.toFixed(0)} ms; target < 1000 ms, off the main thread)`]);
  } finally {
    await browser.close();
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`hubble-ui bench (${SECONDS} s per measurement)\n${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`);
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
