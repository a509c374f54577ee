// Shared helpers of bpf tests: the root gate, unique kernel object names, an event collector, the socket-LB fixture cleanup.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { Datapath } from '../datapath.js';
import type { EventReader } from '../event-reader.js';
import { decodeEventRecord, type EventRecord } from '../event-record.js';

/** node:test skip option for tests needing root / BPF / netns (never skipped under CI=true). */
export const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;

/** Unique name for kernel objects of one test run: cts-<test>-<pid>. */
export function uniqueName(test: string): string {
  return `cts-${test}-${process.pid}`;
}

/** Collects decoded records of an EventReader and waits for matching ones. */
export class EventCollector {
  readonly records: EventRecord[] = [];
  private waiters: Array<() => void> = [];
  private since = 0n;

  constructor(reader: EventReader) {
    reader.on('event', (b: Buffer) => {
      const r = decodeEventRecord(b);
      if (r.ktimeNs < this.since) return;
      this.records.push(r);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Forgets records seen so far, and ignores late ones emitted before now (ktime and hrtime share CLOCK_MONOTONIC). */
  clear(): void {
    this.since = process.hrtime.bigint();
    this.records.length = 0;
  }

  /** Resolves with the first record matching pred, or rejects after timeoutMs naming what was seen. */
  async waitFor(what: string, pred: (r: EventRecord) => boolean, timeoutMs = 5000): Promise<EventRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.records.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.records.map((r) => `type=${r.type}/${r.subType} src=${r.source} ids=${r.srcIdentity}->${r.dstIdentity}`).join('; ');
        throw new Error(`no event matching ${what} within ${timeoutMs} ms; saw ${this.records.length}: ${seen}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}

/**
 * Set-up of a socket-LB test: fresh pins under `pinDir`, network namespace `ns` with lo up
 * and `addresses` on it (/32, IPv6 /128 nodad), the cgroup directory `cgroup`; returns the
 * datapath opened on `pinDir`. removeSockLbFixture undoes it, whatever step failed.
 */
export async function createSockLbFixture(f: { pinDir: string; ns: string; cgroup: string; addresses: readonly string[] }): Promise<Datapath> {
  Datapath.removePins(f.pinDir);
  execFileSync('ip', ['netns', 'add', f.ns]);
  const ipn = (...a: string[]) => execFileSync('ip', ['-n', f.ns, ...a]);
  ipn('link', 'set', 'lo', 'up');
  for (const a of f.addresses) {
    if (a.includes(':')) ipn('-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad');
    else ipn('addr', 'add', `${a}/32`, 'dev', 'lo');
  }
  mkdirSync(f.cgroup);
  return Datapath.open({ pinDir: f.pinDir });
}

/** Runs a node `script` in network namespace `ns` (servers of a test; kill it in `after`). */
export function spawnInNetns(ns: string, script: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Resolves once `child` prints `listening`; rejects when it exits first. */
export function untilListening(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`servers exited ${code}`)));
  });
}

/**
 * Cleanup of a socket-LB test: the servers, the load balancer (detached from the test
 * cgroup), the datapath and its pins, the netns and the cgroup; each step whatever failed before.
 */
export function removeSockLbFixture(f: { servers?: { kill(signal: NodeJS.Signals): unknown }; lb?: { detachCgroup(path: string): unknown; close(): void }; dp?: { close(): void }; pinDir: string; ns: string; cgroup: string; removePins(dir: string): void }): void {
  f.servers?.kill('SIGKILL');
  if (f.lb && existsSync(f.cgroup)) f.lb.detachCgroup(f.cgroup);
  f.lb?.close();
  f.dp?.close();
  f.removePins(f.pinDir);
  try {
    execFileSync('ip', ['netns', 'del', f.ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  if (existsSync(f.cgroup)) rmdirSync(f.cgroup);
}
