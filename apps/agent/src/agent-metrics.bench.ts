// Benchmark: the agent CPU time of one /metrics scrape (collect + Prometheus text) with 200
// endpoints, 200 identities and a kvstore histogram filled by 1,000 operations, next to an
// empty agent's scrape in the same run (interleaved). Kernel counters are read from a real
// pinned datapath (as the agent reads them, once per scrape). Needs root (BPF).
// Run with `npm run bench` in apps/agent (after `npm run build`). Target: < 20 ms per scrape.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Datapath, listPinnedMaps } from '@cilium-ts/bpf';
import { AgentMetrics, type AgentMetricsSources } from './agent-metrics.js';

const ENDPOINTS = 200;
const ROUNDS = 200;

interface Scraper {
  scrape(): Promise<string>;
  close(): Promise<void>;
}

function scraper(sources: AgentMetricsSources): Scraper {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  new AgentMetrics(sources, provider.getMeter('@cilium-ts/agent')).recordRegeneration(3, true);
  const serializer = new PrometheusSerializer();
  return {
    async scrape() {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    close: () => provider.shutdown(),
  };
}

/** CPU ms (user + system) of one scrape. */
async function cpuMs(s: Scraper): Promise<number> {
  const t = process.cpuUsage();
  await s.scrape();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

const pinDir = mkdtempSync('/sys/fs/bpf/cts-metrics-bench-');
rmSync(pinDir, { recursive: true });
const datapath = await Datapath.open({ pinDir });
try {
  const base = (n: number, ops: number): Scraper => {
    const kv = new EventEmitter();
    const s: AgentMetricsSources = {
      datapathCounters: () => datapath.metricsList(),
      endpoints: () => Array.from({ length: n }, (_, i) => ({ state: i % 50 === 0 ? 'regenerating' : 'ready' })),
      identities: () => Array.from({ length: n + 10 }, (_, i) => [i < 10 ? i + 1 : 256 + i, [`k8s:app=a${i}`]] as const),
      policy: { repo: { size: n }, prefixIdentities: () => [] },
      clusterPolicy: { revision: 7, importErrors: 0 },
      kv: kv as unknown as AgentMetricsSources['kv'],
      // The real pinned maps, read from the kernel at each scrape as in the agent.
      mapFill: () => listPinnedMaps(pinDir),
      unreachableNodes: () => 0,
    };
    const sc = scraper(s);
    const actions = ['get', 'put', 'txn', 'list', 'delete'];
    for (let i = 0; i < ops; i++) kv.emit('operation', { operation: actions[i % actions.length], durationMs: (i % 97) / 10, ok: i % 31 !== 0 });
    return sc;
  };
  const empty = base(0, 0);
  const full = base(ENDPOINTS, 1000);
  const size = (await full.scrape()).length;
  for (let i = 0; i < 20; i++) {
    await empty.scrape();
    await full.scrape();
  }
  const e: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    e.push(await cpuMs(empty));
    f.push(await cpuMs(full));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  process.stdout.write(
    `/metrics scrape, agent CPU per scrape (${ROUNDS} interleaved rounds):\n` +
      `  empty agent:            median ${median(e).toFixed(3)} ms, mean ${mean(e).toFixed(3)} ms\n` +
      `  ${ENDPOINTS} endpoints (${size} bytes): median ${median(f).toFixed(3)} ms, mean ${mean(f).toFixed(3)} ms\n` +
      `  ratio (200 endpoints / empty): ${(median(f) / median(e)).toFixed(2)}x; target < 20 ms: ${median(f) < 20 ? 'met' : 'NOT met'}\n`,
  );
  await empty.close();
  await full.close();
} finally {
  datapath.close();
  Datapath.removePins(pinDir);
}
