// Leader election through etcd (etcd3's Election): only the leader operator acts.
import { EventEmitter } from 'node:events';
import type { Campaign } from 'etcd3';
import type { KvLogger, KvStore } from '@cilium-ts/kvstore';

/** Name of the operator's election under `<prefix>/election/`. */
export const OperatorElectionName = 'operator';

/** Campaigns for leadership until stopped; emits 'change' with the new leadership state. */
export class LeaderElection extends EventEmitter<{ change: [boolean] }> {
  private leading = false;
  private stopped = false;
  private campaign: Campaign | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly kv: KvStore,
    /** This operator's candidate id. */
    readonly id: string,
    private readonly ttlSeconds: number,
    private readonly log: KvLogger,
  ) {
    super();
  }

  /** True while this operator is the leader. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning in the background. */
  start(): void {
    void this.run();
  }

  /** The current leader's id as etcd reports it ("" when unknown). */
  async leaderId(): Promise<string> {
    try {
      return (await this.kv.election(OperatorElectionName, this.ttlSeconds).leader()) ?? '';
    } catch {
      return this.leading ? this.id : '';
    }
  }

  /** Resigns (if leading) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const c = this.campaign;
    this.campaign = undefined;
    this.setLeading(false);
    if (c) await Promise.race([c.resign().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  }

  private async run(): Promise<void> {
    let delay = 200;
    while (!this.stopped) {
      const campaign = this.kv.election(OperatorElectionName, this.ttlSeconds).campaign(this.id);
      this.campaign = campaign;
      const failure = await new Promise<Error | undefined>((resolve) => {
        campaign.on('elected', () => {
          delay = 200;
          this.log('info', 'elected operator leader', { id: this.id });
          this.setLeading(true);
        });
        campaign.on('error', (err) => resolve(err));
        this.wake = () => resolve(undefined);
      });
      this.wake = undefined;
      this.setLeading(false);
      if (this.stopped) return;
      this.log('warn', 'operator leader election interrupted; campaigning again', { error: failure?.message });
      void campaign.resign().catch(() => undefined);
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
      delay = Math.min(delay * 2, 5000);
    }
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.emit('change', v);
  }
}
