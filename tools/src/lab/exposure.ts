// What a running lab exposes: the sockets its processes listen on (from `ss -Hltunp`),
// and whether each is reachable beyond the machine. The lab's default is loopback and
// unix sockets only; lab.e2e.test.ts checks it against a running lab.
import { run } from './exec.js';

/** One listening socket: protocol, local address, port and the pids that hold it. */
export interface Listener {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
  pids: number[];
}

/** Parses `ss -Hltunp` output (Netid State Recv-Q Send-Q Local Peer Process). */
export function parseListeners(ssOutput: string): Listener[] {
  const out: Listener[] = [];
  for (const line of ssOutput.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6 || (cols[0] !== 'tcp' && cols[0] !== 'udp')) continue;
    const local = cols[4]!;
    const colon = local.lastIndexOf(':');
    // [::1]:9962, 127.0.0.1:2379, *:4245, 0.0.0.0%lo:53 (interface-bound)
    const address = local.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    out.push({ proto: cols[0], address, port: Number(local.slice(colon + 1)), pids });
  }
  return out;
}

/** True for addresses only this machine reaches: 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address === '::ffff:127.0.0.1';
}

/** The listeners of the machine's own network namespace held by any of `pids`. */
export async function listenersOf(pids: readonly number[]): Promise<Listener[]> {
  const r = await run(['ss', '-Hltunp']);
  if (r.code !== 0) throw new Error(`ss -Hltunp failed (exit ${r.code}): ${r.stderr.trim()}`);
  const wanted = new Set(pids);
  return parseListeners(r.stdout).filter((l) => l.pids.some((p) => wanted.has(p)));
}
