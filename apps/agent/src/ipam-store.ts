/**
 * The IPAM allocations of both pools in `<state-dir>/ipam.json`, so that a restarted agent
 * hands out no address twice. Saves run one after the other.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@cilium-ts/grpc';
import type { Ipv4Allocator } from './ipam.js';
import type { Ipv6Allocator } from './ipam-v6.js';

/** The node's address pools, as the store reads them at each load and save. */
export interface IpamPools {
  ipam?: Ipv4Allocator;
  ipam6?: Ipv6Allocator;
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

  /** Allocates the saved addresses of each pool whose CIDR is still the same. */
  async load(): Promise<void> {
    const { ipam, ipam6 } = this.pools();
    try {
      type Saved = { podCidr: string; allocations: Array<{ ip: string; owner: string }>; podCidrV6?: string; allocationsV6?: Array<{ ip: string; owner: string }> };
      const saved = JSON.parse(await readFile(this.file, 'utf8')) as Saved;
      const pools: Array<[Ipv4Allocator | Ipv6Allocator | undefined, string | undefined, Saved['allocations'] | undefined]> = [
        [ipam, saved.podCidr, saved.allocations],
        [ipam6, saved.podCidrV6, saved.allocationsV6],
      ];
      for (const [pool, cidr, allocations] of pools) {
        if (!pool || cidr !== pool.cidr.text) continue;
        for (const a of allocations ?? []) {
          try {
            pool.allocate(a.owner, a.ip);
          } catch (err) {
            this.log.warn('dropping saved IPAM allocation', { ip: a.ip, error: (err as Error).message });
          }
        }
      }
    } catch {
      // no saved state
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
    await mkdir(this.stateDir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const v6 = ipam6 ? { podCidrV6: ipam6.cidr.text, allocationsV6: ipam6.list() } : {};
    await writeFile(tmp, JSON.stringify({ podCidr: ipam.cidr.text, allocations: ipam.list(), ...v6 }, null, 2) + '\n');
    await rename(tmp, this.file);
  }
}
