// Maglev figures (issue 12): how many existing flows change backend when one of 100
// backends is removed, Maglev at each supported table size against the two stateless
// selections it replaces (random choice per lookup, as --bpf-lb-algorithm random does when
// a flow's state is lost, and hash modulo the backend count), all in one run; and the time
// to build the tables of 10,000 services of 4 backends at --bpf-lb-maglev-table-size
// (default 16381), against hashing the same flows modulo the count (the random
// algorithm's per-service work is a slot list). Pure computation: no root, no kernel.
// Run: `npx nx run loadbalancer:bench` (after the build); BENCH_SERVICES, BENCH_TABLE_SIZE.
import { createHash } from 'node:crypto';
import { DefaultMaglevTableSize, MaglevTableSizes, checkMaglevTableSize, maglevTable, type MaglevBackend } from './maglev.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const TABLE_SIZE = checkMaglevTableSize(Number(process.env.BENCH_TABLE_SIZE ?? DefaultMaglevTableSize));
const FLOWS = 200_000;

const backends = (n: number, base = 0): MaglevBackend[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.${(base >> 8) & 255}.${base & 255}.${i + 1}:8080`, weight: 1 }));

/** A deterministic 32-bit flow hash per flow index (stands in for the datapath's jhash of the 5-tuple). */
function flowHashes(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = createHash('sha1').update(`flow${i}`).digest().readUInt32LE(0);
  return out;
}

/** Share of flows whose backend (by key) differs between two selections. */
function movedShare(flows: Uint32Array, before: (h: number) => string, after: (h: number) => string): number {
  let moved = 0;
  for (const h of flows) if (before(h) !== after(h)) moved++;
  return moved / flows.length;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function removalShares(): void {
  const flows = flowHashes(FLOWS);
  const all = backends(100);
  const removed = 42;
  const rest = all.filter((_, i) => i !== removed);
  const rows: string[][] = [['selection', 'table size', 'flows moved', 'vs ideal 1%']];
  for (const m of MaglevTableSizes) {
    const a = maglevTable(all, m);
    const b = maglevTable(rest, m);
    const share = movedShare(flows, (h) => all[a[h % m]!]!.key, (h) => rest[b[h % m]!]!.key);
    rows.push(['maglev', String(m), pct(share), `${(share / 0.01).toFixed(2)}x`]);
  }
  const modulo = movedShare(flows, (h) => all[h % all.length]!.key, (h) => rest[h % rest.length]!.key);
  rows.push(['hash mod N', '-', pct(modulo), `${(modulo / 0.01).toFixed(2)}x`]);
  // Random: each lookup picks a slot at random; a flow that is looked up again after the
  // change lands on its old backend only by chance.
  let rnd = 0;
  for (let i = 0; i < FLOWS; i++) {
    const before = all[Math.floor(Math.random() * all.length)]!.key;
    const after = rest[Math.floor(Math.random() * rest.length)]!.key;
    if (before !== after) rnd++;
  }
  rows.push(['random', '-', pct(rnd / FLOWS), `${(rnd / FLOWS / 0.01).toFixed(2)}x`]);
  console.log(`one of 100 backends removed (${FLOWS} flows, each on the backend its hash selects)`);
  printRows(rows);
}

function buildTimes(): void {
  const services = Array.from({ length: SERVICES }, (_, s) => backends(4, s));
  const t0 = process.hrtime.bigint();
  let slots = 0;
  for (const b of services) slots += maglevTable(b, TABLE_SIZE).length;
  const maglevMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // The random algorithm's per-service work: one slot per active backend.
  const t1 = process.hrtime.bigint();
  let n = 0;
  for (const b of services) n += b.map((_, i) => i).length;
  const randomMs = Number(process.hrtime.bigint() - t1) / 1e6;
  console.log(`\ntable build, ${SERVICES} services x 4 backends, table size ${TABLE_SIZE} (${slots} slots; random: ${n} slots)`);
  printRows([
    ['selection', 'total ms', 'per service us'],
    ['maglev', maglevMs.toFixed(0), ((maglevMs * 1000) / SERVICES).toFixed(1)],
    ['random', randomMs.toFixed(1), ((randomMs * 1000) / SERVICES).toFixed(2)],
  ]);
}

function printRows(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

removalShares();
buildTimes();
