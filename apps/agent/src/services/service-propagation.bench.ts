// Benchmark: service propagation against a real etcd (issue 12). NODES agents' service
// sides in one process, each with its own kvstore connection, ServiceManager (state file)
// and socket load balancer (its own BPF maps pinned under its own directory, as an
// agent's): 1,000 services created through node 0's ServiceManager (as `cilium service
// update` does, 16 at a time), timed until each is in every node's BPF service map (the
// map write has returned). Per service: creation call -> in the last node's map; p50 and
// p100 over the services, and the time until every node has all of them. Baseline in the
// same run: one node alone (its own write after the etcd put). Run as root after the
// build: `node dist/services/service-propagation.bench.js` (under flock
// /tmp/cilium-ts-kernel.lock). Env: BENCH_NODES (3), BENCH_SERVICES (1000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datapath, SocketLb } from '@cilium-ts/bpf';
import { KvStore, ServiceStore } from '@cilium-ts/kvstore';
import { startTestEtcd } from '@cilium-ts/kvstore/testing';
import { DefaultMaxBackendsPerService, type Service } from '@cilium-ts/loadbalancer';
import { ServiceManager } from './service-manager.js';

const NODES = Number(process.env.BENCH_NODES ?? 3);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 1000);
const CONCURRENCY = 16;

if (process.getuid?.() !== 0) throw new Error('the propagation benchmark needs root (BPF maps)');

const dir = mkdtempSync(join(tmpdir(), 'cts-svc-prop-'));
const pinBase = `/sys/fs/bpf/cts-svc-prop-${process.pid}`;
const etcd = await startTestEtcd('svc-prop');

interface Node { kv: KvStore; services: ServiceManager; lb: SocketLb; written: Map<number, number> }

const spec = (i: number) => ({
  id: i + 1,
  frontend: { ip: `10.97.${(i + 1) >> 8}.${(i + 1) & 255}`, port: 80, protocol: 'TCP' },
  backends: [0, 1, 2, 3].map((j) => ({ ip: `10.206.${(i >> 6) & 255}.${((i & 63) << 2) | j}`, port: 8080 })),
});

async function openNode(run: string, n: number): Promise<Node> {
  const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: run });
  const pinDir = `${pinBase}/${run}-n${n}`;
  Datapath.removePins(pinDir);
  const lb = SocketLb.open({ pinDir });
  const written = new Map<number, number>();
  const services = new ServiceManager({
    store: new ServiceStore(kv, 'bench'),
    datapath: {
      upsertService: (svc: Service) => {
        lb.upsertService(svc);
        if (!written.has(svc.id)) written.set(svc.id, performance.now());
      },
      deleteService: (id: number) => lb.deleteService(id),
    },
    stateFile: join(dir, run, `n${n}`, 'services.json'),
    podCidrs: () => ['10.0.0.0/16'],
    maxBackends: DefaultMaxBackendsPerService,
    log: () => undefined,
  });
  services.start();
  return { kv, services, lb, written };
}

/** Creates the services on node 0 of `nodes` nodes; per-service latency to the last node, and the total. */
async function run(name: string, nodeCount: number): Promise<{ p50: number; p100: number; total: number }> {
  const nodes: Node[] = [];
  try {
    for (let n = 0; n < nodeCount; n++) nodes.push(await openNode(name, n));
    const created = new Array<number>(SERVICES);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < SERVICES) {
        const i = next++;
        created[i] = performance.now();
        await nodes[0]!.services.update(spec(i));
      }
    }));
    while (nodes.some((n) => n.written.size < SERVICES)) await new Promise((r) => setTimeout(r, 2));
    const total = Math.max(...nodes.flatMap((n) => [...n.written.values()])) - t0;
    const lat = created.map((c, i) => Math.max(...nodes.map((n) => n.written.get(i + 1)!)) - c).sort((a, b) => a - b);
    return { p50: lat[Math.floor(lat.length / 2)]!, p100: lat.at(-1)!, total };
  } finally {
    for (const n of nodes) {
      await n.services.close();
      n.lb.close();
      await n.kv.close();
    }
  }
}

try {
  const single = await run('single', 1);
  const multi = await run('multi', NODES);
  const f = (x: number): string => x.toFixed(0);
  process.stdout.write(
    `service propagation, ${SERVICES} services created on node 0 (16 at a time), one etcd, agents' service sides in one process (2 cores):\n` +
      `nodes  per service p50 / p100 (ms)  all in every map (ms)\n` +
      `1      ${f(single.p50)} / ${f(single.p100)}${' '.repeat(Math.max(1, 30 - `${f(single.p50)} / ${f(single.p100)}`.length))}${f(single.total)}\n` +
      `${NODES}      ${f(multi.p50)} / ${f(multi.p100)}${' '.repeat(Math.max(1, 30 - `${f(multi.p50)} / ${f(multi.p100)}`.length))}${f(multi.total)}\n` +
      `ratio ${NODES} nodes / 1 node: p50 ${(multi.p50 / single.p50).toFixed(2)}, p100 ${(multi.p100 / single.p100).toFixed(2)}, all ${(multi.total / single.total).toFixed(2)}\n`,
  );
} finally {
  await etcd.stop();
  Datapath.removePins(pinBase);
  rmSync(dir, { recursive: true, force: true });
}
