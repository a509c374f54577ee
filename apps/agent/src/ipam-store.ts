/**
 * The IPAM allocations of both pools in `<state-dir>/ipam.json`, so that a restarted agent
 * hands out no address twice. Saves run one after the other (atomic-file.ts). A missing
 * file is a first start; a file that cannot be read or parsed, or whose allocations do not
 * fit its own pod CIDR, stops the agent (IpamStateError naming the file and what is wrong)
 * instead of losing the allocations it holds: handing out a pod's address again would give
 * two pods one address.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@cilium-ts/process';
import { writeFileAtomic } from './atomic-file.js';
import type { Ipv4Allocator } from './ipam.js';
import type { Ipv6Allocator } from './ipam-v6.js';

/** The node's address pools, as the store reads them at each load and save. */
export interface IpamPools {
  ipam?: Ipv4Allocator;
  ipam6?: Ipv6Allocator;
}

/** The saved IPAM state file is unreadable or corrupt; `file` names it. */
export class IpamStateError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot restore the IPAM allocations from ${file}: ${problem} (fix the file, or remove it to start with no allocations: pods that still hold their addresses may then get duplicates)`, options);
    this.name = 'IpamStateError';
  }
}

type Allocation = { ip: string; owner: string };
type Saved = { podCidr?: string; allocations?: Allocation[]; podCidrV6?: string; allocationsV6?: Allocation[] };

/** Checks the shape of a parsed ipam.json; returns what is wrong, or undefined. */
function shapeProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'the top level is not an object';
  const o = v as Record<string, unknown>;
  for (const k of ['podCidr', 'podCidrV6']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return `"${k}" is not a string`;
  }
  for (const k of ['allocations', 'allocationsV6']) {
    const list = o[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `"${k}" is not a list`;
    for (const [i, a] of list.entries()) {
      if (typeof a !== 'object' || a === null || typeof (a as Allocation).ip !== 'string' || typeof (a as Allocation).owner !== 'string' || !(a as Allocation).owner) {
        return `${k}[${i}] is not {"ip": string, "owner": non-empty string}`;
      }
    }
  }
  return undefined;
}

/** Loads and saves `<state-dir>/ipam.json`. */
export class IpamStore {
  /** The last IPAM save, to chain the next one on (see save). */
  private saves: Promise<void> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    private readonly pools: () => IpamPools,
    private readonly log: Logger,
  ) {}

  /** Path of the IPAM state file. */
  get file(): string {
    return join(this.stateDir, 'ipam.json');
  }

  /**
   * Allocates the saved addresses of each pool whose CIDR is still the same (a pool whose
   * pod CIDR changed starts empty: its old addresses are not in it). A missing file loads
   * nothing; anything else wrong throws IpamStateError (the agent then does not start).
   */
  async load(): Promise<void> {
    const { ipam, ipam6 } = this.pools();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new IpamStateError(this.file, `cannot read it: ${(err as Error).message}`, { cause: err });
    }
    let saved: Saved;
    try {
      saved = JSON.parse(text) as Saved;
    } catch (err) {
      throw new IpamStateError(this.file, `not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const problem = shapeProblem(saved);
    if (problem) throw new IpamStateError(this.file, problem);
    const pools: Array<[string, Ipv4Allocator | Ipv6Allocator | undefined, string | undefined, Allocation[] | undefined]> = [
      ['allocations', ipam, saved.podCidr, saved.allocations],
      ['allocationsV6', ipam6, saved.podCidrV6, saved.allocationsV6],
    ];
    // The agent does not start when this throws, so a partly loaded pool is never used.
    for (const [field, pool, cidr, allocations] of pools) {
      if (!pool || cidr !== pool.cidr.text) {
        if (pool && allocations?.length) this.log.warn('saved IPAM allocations are of another pod CIDR; not restored', { file: this.file, saved: cidr, current: pool.cidr.text, count: allocations.length });
        continue;
      }
      for (const [i, a] of (allocations ?? []).entries()) {
        try {
          pool.allocate(a.owner, a.ip);
        } catch (err) {
          throw new IpamStateError(this.file, `${field}[${i}]: ${(err as Error).message}`, { cause: err });
        }
      }
    }
  }

  /**
   * Saves the IPAM allocations. Saves run one after the other: concurrent Allocate and
   * Release calls (parallel CNI ADD/DEL) would otherwise race on the temporary file.
   */
  save(): Promise<void> {
    const run = this.saves.then(
      () => this.write(),
      () => this.write(),
    );
    this.saves = run.catch(() => undefined);
    return run;
  }

  private async write(): Promise<void> {
    const { ipam, ipam6 } = this.pools();
    if (!ipam) return;
    const v6 = ipam6 ? { podCidrV6: ipam6.cidr.text, allocationsV6: ipam6.list() } : {};
    await writeFileAtomic(this.file, JSON.stringify({ podCidr: ipam.cidr.text, allocations: ipam.list(), ...v6 }, null, 2) + '\n');
  }
}
