// Benchmark: full compilation of one endpoint's policy (computeEndpointPolicy, and a cold
// PolicyEngine) for 1k / 10k rules x 1k / 10k identities, and the incremental update when
// one identity appears, applied to 100 endpoints, next to a full recompute of the same
// 100 endpoints in the same run. Run with `npm run bench` (after `npm run build`).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { CIDRIdentityAllocator, cidrIdentityLabels, rulePrefixes } from './cidr-identity.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { StaticIdentityLookup } from './identity.js';
import { PolicyEngine } from './policy-engine.js';
import { Repository } from './repository.js';
import type { Rule } from './rule.js';

const APPS = 100;
const NAMESPACES = 10;
const gc = (globalThis as { gc?: () => void }).gc;

function heapMB(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

function identityLabels(i: number): string[] {
  return [`k8s:app=app${i % APPS}`, `k8s:io.kubernetes.pod.namespace=ns${i % NAMESPACES}`, `k8s:tier=t${i % 3}`, `k8s:pod=p${i}`];
}

/**
 * Rule i selects app<i % 100> (so 1% of the rules select a given endpoint); it admits one
 * app on one port and, every 7th rule, a whole tier (a third of the identities) on 8443;
 * it may reach one app on 443 and, every 50th rule, a CIDR; every 200th rule denies one app
 * on port 22. The endpoint measured (app0) is selected by 1% of the rules.
 */
function makeRules(n: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns${i % NAMESPACES}`;
    const r: Rule = {
      endpointSelector: { matchLabels: { 'k8s:app': `app${i % APPS}` } },
      ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:app': `app${(i * 7 + 1 + Math.floor(i / APPS)) % APPS}`, 'k8s:io.kubernetes.pod.namespace': ns } }], toPorts: [{ ports: [{ port: String(8000 + (i % 50)), protocol: 'TCP' }] }] }],
      egress: [{ toEndpoints: [{ matchLabels: { 'k8s:app': `app${(i * 3 + 2) % APPS}` } }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }],
      labels: [`bench:rule=r${i}`],
    };
    if (i % 7 === 0) r.ingress!.push({ fromEndpoints: [{ matchLabels: { 'k8s:tier': `t${i % 3}` } }], toPorts: [{ ports: [{ port: '8443', protocol: 'TCP' }] }] });
    if (i % 50 === 3) r.egress!.push({ toCIDRSet: [{ cidr: `10.${i % 250}.0.0/16`, except: [`10.${i % 250}.1.0/24`] }] });
    if (i % 200 === 0) r.ingressDeny = [{ fromEndpoints: [{ matchLabels: { 'k8s:app': `app${(i + 50) % APPS}` } }], toPorts: [{ ports: [{ port: '22', protocol: 'TCP' }] }] }];
    rules.push(r);
  }
  return rules;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  rules: number;
  identities: number;
  entries: number;
  fullMs: number;
  fullCpuMs: number;
  fullHeapMB: number;
  engineColdMs: number;
  engineHeapMB: number;
  incr100Ms: number;
  incr100CpuMs: number;
  full100Ms: number;
  full100Note: string;
}

function run(nRules: number, nIds: number): Row {
  const repo = new Repository();
  repo.add(makeRules(nRules));
  const idList: Array<[number, string[]]> = [];
  for (let i = 0; i < nIds; i++) idList.push([256 + i, identityLabels(i)]);
  // The CIDR identities the engine allocates for the rules' prefixes (same order, same numbers).
  const cidrs = new CIDRIdentityAllocator();
  for (const r of repo.get()) for (const p of rulePrefixes(r)) cidrs.acquire(p);
  const ids = new StaticIdentityLookup([...idList, ...cidrs.entries().map((c): [number, string[]] => [c.identity, cidrIdentityLabels(c.prefix)])]);
  const ep = identityLabels(0);

  // Full compilation of one endpoint: computeEndpointPolicy (stateless).
  computeEndpointPolicy(repo, ep, ids);
  const h0 = heapMB();
  const fullRuns: number[] = [];
  const fullCpu: number[] = [];
  let entries = 0;
  for (let k = 0; k < 3; k++) {
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    entries = computeEndpointPolicy(repo, ep, ids).entries.length;
    fullRuns.push(ms(t));
    const used = process.cpuUsage(cpu);
    fullCpu.push((used.user + used.system) / 1000);
  }
  const h1 = heapMB();

  // A cold engine: selector cache and one endpoint handle built from nothing.
  const e0 = heapMB();
  let t = process.hrtime.bigint();
  const engine = new PolicyEngine({ repository: repo, identities: idList });
  const first = engine.endpoint(ep);
  const engineColdMs = ms(t);
  const e1 = heapMB();
  if (first.entries().length !== entries) throw new Error(`engine has ${first.entries().length} entries, computeEndpointPolicy ${entries}`);

  // 100 endpoints (apps 0..99), then one new identity selected by many of their rules.
  const eps: string[][] = [];
  for (let a = 0; a < 100; a++) eps.push(identityLabels(a));
  for (const l of eps.slice(1)) engine.endpoint(l);
  const incr: number[] = [];
  const incrCpu: number[] = [];
  gc?.();
  for (let k = 0; k < 31; k++) {
    const id = 256 + nIds + k;
    const labels = identityLabels(k * 7 + 1);
    const cpu = process.cpuUsage();
    t = process.hrtime.bigint();
    engine.setIdentity(id, labels);
    incr.push(ms(t));
    const used = process.cpuUsage(cpu);
    incrCpu.push((used.user + used.system) / 1000);
    engine.deleteIdentity(id);
  }
  engine.close();

  // Full recompute of the same 100 endpoints after that identity change.
  const measured = nRules * nIds >= 1e7 ? 5 : nRules * nIds > 1e6 ? 20 : 100;
  ids.set(256 + nIds, identityLabels(1));
  t = process.hrtime.bigint();
  for (const l of eps.slice(0, measured)) computeEndpointPolicy(repo, l, ids);
  const full100Ms = (ms(t) * 100) / measured;
  return {
    rules: nRules,
    identities: nIds,
    entries,
    fullMs: median(fullRuns),
    fullCpuMs: median(fullCpu),
    fullHeapMB: Math.max(0, h1 - h0),
    engineColdMs,
    engineHeapMB: Math.max(0, e1 - e0),
    incr100Ms: median(incr),
    incr100CpuMs: median(incrCpu),
    full100Ms,
    full100Note: measured === 100 ? '' : ` (${measured} measured, x${100 / measured})`,
  };
}

// Each configuration runs in a child process of its own, so heaps and GC do not mix.
const arg = process.argv[2];
if (arg !== undefined) {
  const [r, i] = arg.split('x').map(Number) as [number, number];
  process.stdout.write(`${JSON.stringify(run(r, i))}\n`);
  process.exit(0);
}
const rows: Row[] = [];
for (const [r, i] of [
  [1000, 1000],
  [1000, 10000],
  [10000, 1000],
  [10000, 10000],
] as const) {
  process.stderr.write(`running ${r} rules x ${i} identities...\n`);
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `${r}x${i}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`benchmark ${r}x${i} failed (status ${child.status}): ${child.stderr}`);
  rows.push(JSON.parse(child.stdout) as Row);
}

const fmt = (n: number, d = 1): string => n.toFixed(d);
const header = ['rules', 'identities', 'entries', 'full ms/endpoint (wall / cpu)', 'engine cold ms', 'engine heap MB', '1 new identity -> 100 eps ms (wall / cpu)', 'full recompute 100 eps ms', 'incremental / full'];
const lines = rows.map((r) => [
  String(r.rules),
  String(r.identities),
  String(r.entries),
  `${fmt(r.fullMs)} / ${fmt(r.fullCpuMs)}`,
  fmt(r.engineColdMs),
  gc ? fmt(r.engineHeapMB) : 'n/a',
  `${fmt(r.incr100Ms, 2)} / ${fmt(r.incr100CpuMs, 2)}`,
  fmt(r.full100Ms, 0) + r.full100Note,
  (r.incr100Ms / r.full100Ms).toExponential(1),
]);
const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
const row = (cells: string[]): string => `| ${cells.map((x, c) => x.padStart(widths[c]!)).join(' | ')} |`;
console.log(row(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const l of lines) console.log(row(l));
console.log('');
console.log('full: computeEndpointPolicy for one endpoint (median of 3); engine cold: a new PolicyEngine (selector cache) plus one endpoint handle;');
console.log('1 new identity: PolicyEngine.setIdentity with 100 endpoint handles open (median of 31, after a GC), diffs included;');
console.log(`full recompute: computeEndpointPolicy for the same 100 endpoints. Targets: 10k x 10k < 1000 ms per endpoint; 1 identity -> 100 endpoints < 10 ms.${gc ? '' : ' (run with --expose-gc for heap figures)'}`);
const big = rows.find((r) => r.rules === 10000 && r.identities === 10000)!;
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs: wall-clock figures include waiting for other processes.`);
console.log(`10k x 10k: full ${fmt(big.fullMs)} ms wall, ${fmt(big.fullCpuMs)} ms CPU per endpoint (${big.fullMs < 1000 ? 'meets' : 'misses'} < 1 s wall); incremental ${fmt(big.incr100Ms, 2)} ms wall, ${fmt(big.incr100CpuMs, 2)} ms CPU for 100 endpoints (${big.incr100Ms < 10 ? 'meets' : 'misses'} < 10 ms wall).`);
