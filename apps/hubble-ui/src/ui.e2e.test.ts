// The Hubble UI in a real browser (Debian's chromium, driven by puppeteer-core) against a
// real relay and hubble-servers (testing/hubble-stack.ts): the map's nodes and edges with
// their verdict colours (L7 from a proxy's access records included), live updates, the namespace selector, an edge's flows on click,
// the 400 answers for bad query parameters, the relay going away and coming back, and a map of
// 200 workloads laid out by the layout worker with one edge per workload pair.
// Screenshots go to the directory printed at the start. Without chromium the suite is
// skipped, except under CI=true (tools/setup installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { proxy } from '@cilium-ts/api';
import { HubbleStack } from './testing/hubble-stack.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(tmpdir(), 'cilium-ts-hubble-ui-screenshots');
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `no ${CHROMIUM} (tools/setup installs Debian's chromium)` : false;

/** Verdict colours of app.css, as the browser computes them. */
const COLOURS = { forwarded: 'rgb(46, 157, 70)', dropped: 'rgb(212, 60, 60)', l7: 'rgb(123, 76, 214)' };

describe('Hubble UI in Chromium against a real relay', { skip }, () => {
  const stack = new HubbleStack();
  let browser: Browser;
  let page: Page;

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
  };
  const nodeIds = (): Promise<string[]> => page.$$eval('g.node', (els) => els.map((e) => e.getAttribute('data-id')!).sort());
  const edges = (): Promise<{ id: string; kind: string; stroke: string }[]> =>
    page.$$eval('path.edge', (els) => els.map((e) => ({ id: e.getAttribute('data-id')!, kind: e.getAttribute('data-kind')!, stroke: getComputedStyle(e).stroke })));
  const relayState = (): Promise<string> => page.$eval('#relay-status', (e) => (e as HTMLElement).dataset.state ?? '');

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    console.log(`hubble-ui screenshots: ${SHOTS}`);
    await stack.up();
    await stack.blast(1);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(stack.url) && !r.url().startsWith('data:')) external.push(r.url());
    });
    await page.goto(stack.url, { waitUntil: 'load' });
    await page.waitForSelector('g.node[data-id="empire/deathstar"]', { timeout: 30_000 });
    assert.deepEqual(external, [], 'every script and style comes from the backend');
  });

  after(async () => {
    await browser?.close();
    await stack.stop();
  });

  it('draws one node per workload and one edge per source -> destination workload pair, coloured by verdict, ports on its label and tooltip', async () => {
    await page.waitForFunction(() => document.querySelector('#relay-status')?.getAttribute('data-state') === 'connected');
    const nodes = await nodeIds();
    for (const w of ['default/xwing', 'empire/tiefighter', 'empire/deathstar', 'reserved:world', 'reserved:host']) assert.ok(nodes.includes(w), `node ${w} in ${nodes.join(', ')}`);
    const all = await edges();
    const byId = new Map(all.map((e) => [e.id, e]));
    assert.equal(byId.size, all.length, 'one path per edge');
    for (const e of all) assert.match(e.id, /^[^>]+->[^>]+$/, `edge ${e.id} is a workload pair, not a port`);
    const denied = byId.get('empire/tiefighter->empire/deathstar');
    assert.equal(denied?.kind, 'dropped', 'tiefighter -> deathstar:8080 was denied by policy');
    assert.equal(denied?.stroke, COLOURS.dropped);
    const sel = '.edge-group[data-edge="empire/tiefighter->empire/deathstar"]';
    assert.match(await page.$eval(`${sel} .edge-label`, (e) => e.textContent ?? ''), /^8080\/tcp · \d+ \(\d+ dropped\)$/);
    assert.match(await page.$eval(`${sel} title`, (e) => e.textContent ?? ''), /\n8080\/tcp: \d+ \(\d+ dropped\)/);
    const forwarded = all.filter((e) => e.kind === 'forwarded');
    assert.ok(forwarded.length > 0, 'some edges only forwarded');
    for (const e of forwarded) assert.equal(e.stroke, COLOURS.forwarded, e.id);
    await shot('map');
  });

  it('follows live: new flows raise the counts without a reload', async () => {
    const count = (): Promise<number> => page.$eval('g.node[data-id="empire/deathstar"] .node-count', (e) => Number(e.textContent));
    const before = await count();
    await stack.blast(2);
    await page.waitForFunction((b) => Number(document.querySelector('g.node[data-id="empire/deathstar"] .node-count')?.textContent) > b, {}, before);
    assert.ok((await count()) > before);
  });

  it('clicking an edge shows its flows in the table, and only them', async () => {
    const id = 'empire/tiefighter->empire/deathstar';
    await page.$eval(`.edge-hit[data-edge="${id}"]`, (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await page.waitForFunction((x) => document.querySelector('#edge-selection')?.textContent?.includes(x), {}, id);
    // The table is redrawn in the next animation frame.
    await page.waitForFunction((x) => {
      const trs = Array.from(document.querySelectorAll('#flows-body tr'));
      return trs.length > 0 && trs.every((tr) => (tr as HTMLElement).dataset.edge === x);
    }, {}, id);
    const rows = await page.$$eval('#flows-body tr', (trs) =>
      trs.map((tr) => ({ edge: (tr as HTMLElement).dataset.edge, verdict: (tr as HTMLElement).dataset.verdict, port: tr.children[3]?.textContent ?? '' })),
    );
    assert.ok(rows.length > 0, 'the edge has flows');
    for (const r of rows) assert.equal(r.edge, id);
    assert.ok(rows.some((r) => r.port === '8080'), 'the pair\'s flows show their port');
    assert.ok(rows.some((r) => r.verdict === 'DROPPED'));
    await shot('edge-flows');
    await page.$eval('#map-svg', (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await page.waitForFunction(() => document.querySelector('#edge-selection')?.textContent === '');
    // Without a selection the table shows every edge again.
    await page.waitForFunction(() => new Set(Array.from(document.querySelectorAll('#flows-body tr')).map((tr) => (tr as HTMLElement).dataset.edge)).size > 1);
  });

  it('an HTTP exchange seen by the L7 proxy is an L7 edge, and its flows show method, URL and code', async () => {
    // xwing (endpoint 101 on n1) asks tiefighter over HTTP through n1's proxy: the request and
    // its response as cilium-proxy's access log reports them; hubble-server makes L7 flows.
    const id = 'default/xwing->empire/tiefighter';
    const now = BigInt(Math.floor(Date.now() / 1000));
    const base = {
      verdict: proxy.Verdict.FORWARDED, direction: proxy.TrafficDirection.EGRESS, endpointId: 101,
      sourceAddress: '10.0.1.5', sourcePort: 43210, sourceIdentity: 256, destinationAddress: '10.0.1.6', destinationPort: 80, destinationIdentity: 258,
    };
    const http = { method: 'POST', url: '/v1/request-landing', protocol: 'HTTP/1.1', headers: [{ key: 'host', value: 'tiefighter' }] };
    stack.accessLog.send([
      proxy.AccessLogRecord.fromPartial({ ...base, time: { seconds: now, nanos: 0 }, type: 'request', http }),
      proxy.AccessLogRecord.fromPartial({ ...base, time: { seconds: now, nanos: 2_000_000 }, type: 'response', http: { ...http, code: 201 }, latencyNs: 2_000_000n }),
    ]);
    await page.waitForSelector(`path.edge[data-id="${id}"]`, { timeout: 30_000 });
    const edge = (await edges()).find((e) => e.id === id);
    assert.equal(edge?.kind, 'l7', 'an edge with L7 flows (and no drop) is an L7 edge');
    assert.equal(edge?.stroke, COLOURS.l7);
    await page.$eval(`.edge-hit[data-edge="${id}"]`, (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await page.waitForFunction((x) => {
      const trs = Array.from(document.querySelectorAll('#flows-body tr'));
      return trs.length === 2 && trs.every((tr) => (tr as HTMLElement).dataset.edge === x);
    }, {}, id);
    const rows = await page.$$eval('#flows-body tr', (trs) => trs.map((tr) => Array.from(tr.children).slice(1).map((td) => td.textContent ?? '')));
    assert.deepEqual(rows, [
      ['empire/tiefighter', 'default/xwing', '43210', 'http', 'FORWARDED', 'HTTP response POST http://tiefighter/v1/request-landing 201'],
      ['default/xwing', 'empire/tiefighter', '80', 'http', 'FORWARDED', 'HTTP request POST http://tiefighter/v1/request-landing'],
    ]);
    await shot('l7-edge');
    await page.$eval('#map-svg', (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await page.waitForFunction(() => document.querySelector('#edge-selection')?.textContent === '');
  });

  it('table filters: verdict and port', async () => {
    await page.type('#filter-verdict', 'dropped');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#flows-body tr')).every((tr) => (tr as HTMLElement).dataset.verdict === 'DROPPED'));
    assert.ok((await page.$$('#flows-body tr')).length > 0);
    await page.type('#filter-port', '8080');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#flows-body tr td:nth-child(4)')).every((td) => td.textContent === '8080'));
    await shot('filtered');
    for (const f of ['#filter-verdict', '#filter-port']) {
      await page.$eval(f, (e) => {
        (e as HTMLInputElement).value = '';
        e.dispatchEvent(new Event('input'));
      });
    }
  });

  it('the namespace selector lists GetNamespaces and narrows the map to that namespace', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#namespace option').length >= 3);
    const options = await page.$$eval('#namespace option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(options, ['', 'default', 'empire']);
    await page.select('#namespace', 'default');
    await stack.blast(1);
    await page.waitForSelector('g.node[data-id="default/xwing"]');
    await page.waitForFunction(() => !document.querySelector('g.node[data-id="empire/tiefighter"]') || document.querySelectorAll('path.edge').length > 0);
    for (const e of await edges()) assert.ok(e.id.includes('default/'), `edge ${e.id} touches default`);
    await shot('namespace-default');
    await page.select('#namespace', '');
  });

  it('answers 400 with the reason for every bad query parameter, 405 for writes', async () => {
    const cases: [string, string][] = [
      ['api/flows?namespace=Bad_NS', 'namespace'],
      ['api/flows?verdict=MAYBE', 'verdict'],
      ['api/flows?port=70000', 'port'],
      ['api/flows?port=http', 'port'],
      ['api/flows?protocol=carrier-pigeon', 'protocol'],
      ['api/flows?pod=default/Bad%20Pod', 'pod'],
      ['api/flows?history=-1', 'history'],
      ['api/flows?colour=red', 'colour'],
      ['api/flows?port=80&port=81', 'port'],
      ['api/namespaces?namespace=default', 'namespace'],
    ];
    for (const [path, parameter] of cases) {
      const res = await fetch(`${stack.url}${path}`);
      const body = (await res.json()) as { error: string; parameter: string };
      assert.equal(res.status, 400, path);
      assert.equal(body.parameter, parameter, path);
      assert.match(body.error, new RegExp(`"${parameter}"`), path);
    }
    const post = await fetch(`${stack.url}api/flows`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal((await fetch(`${stack.url}nope`)).status, 404);
  });

  it('shows the relay going away and recovers when it returns', async () => {
    await stack.killRelay();
    await page.waitForFunction(() => document.querySelector('#relay-status')?.getAttribute('data-state') === 'unavailable', { timeout: 30_000 });
    assert.match(await page.$eval('#relay-status', (e) => e.textContent ?? ''), /relay/);
    await shot('relay-lost');
    const before = await page.$eval('g.node[data-id="empire/deathstar"] .node-count', (e) => Number(e.textContent));
    stack.startRelay();
    await page.waitForFunction(() => document.querySelector('#relay-status')?.getAttribute('data-state') === 'connected', { timeout: 30_000 });
    assert.equal(await relayState(), 'connected');
    await stack.blast(1);
    await page.waitForFunction((b) => Number(document.querySelector('g.node[data-id="empire/deathstar"] .node-count')?.textContent) > b, { timeout: 30_000 }, before);
    await shot('relay-recovered');
  });

  it('lays out a map of 200 workloads / 1,000 port edges in the layout worker, one edge per pair', async () => {
    // The synthetic graph of the benchmark, handed to the page as if the backend sent it.
    const flows: unknown[] = [];
    const pairs = new Set<string>();
    const w = (k: number) => ({ id: `big${k % 5}/app${k}`, namespace: `big${k % 5}`, name: `app${k}`, pod: '' });
    for (let i = 0; i < 1000; i++) {
      const a = i % 200;
      let b = (i * 7 + 1 + Math.floor(i / 200)) % 200;
      if (b === a) b = (b + 1) % 200;
      pairs.add(`${w(a).id}->${w(b).id}`);
      flows.push({ time: Date.now(), node: 'n1', source: w(a), destination: w(b), port: 80 + (i % 5), protocol: 'tcp', verdict: 'FORWARDED', l7: '', summary: '', reply: false });
    }
    const layoutsBefore = await page.evaluate(() => (window as unknown as { hubbleUi: { stats: { layouts: number } } }).hubbleUi.stats.layouts);
    await page.evaluate((f) => (window as unknown as { hubbleUi: { receive: (f: unknown) => void } }).hubbleUi.receive(f), flows);
    await page.waitForFunction((n) => document.querySelectorAll('g.node[data-id^="big"]').length === n, { timeout: 60_000 }, 200);
    const stats = await page.evaluate(() => (window as unknown as { hubbleUi: { stats: { layouts: number; lastLayoutMode: string } } }).hubbleUi.stats);
    assert.ok(stats.layouts > layoutsBefore, 'a new layout came from the worker');
    assert.equal(stats.lastLayoutMode, 'spanning-forest', 'a large map gets the cheaper layout');
    const big = (await edges()).filter((e) => e.id.startsWith('big'));
    assert.equal(big.length, pairs.size, 'one edge per workload pair');
    assert.deepEqual(new Set(big.map((e) => e.id)), pairs);
    const d = await page.$$eval('path.edge[data-id^="big"]', (els) => els.filter((e) => !/^M[\d.-]+,[\d.-]+( L[\d.-]+,[\d.-]+)+$/.test(e.getAttribute('d') ?? '')).length);
    assert.equal(d, 0, 'every pair has a drawn path');
    assert.ok(await page.$('g.node[data-id="empire/deathstar"]'), 'the workloads already there stay on the map');
    await shot('map-200-workloads');
  });
});
