// The operator: wires leader election, cluster-pool IPAM, identity GC and the kvstore
// heartbeat over one kvstore connection. Everything but status() acts only while this
// operator is the elected leader.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KvLogger, KvStore } from '@cilium-ts/kvstore';
import { Heartbeat } from './heartbeat.js';
import { IdentityGc } from './identity-gc.js';
import { NodeGc } from './node-gc.js';
import { IpamController } from './ipam-controller.js';
import { LeaderElection } from './leader-election.js';

/** Configuration of an Operator. */
export interface OperatorConfig {
  clusterName: string;
  /** Cluster pool, e.g. 10.200.0.0/16. */
  poolCidr: string;
  /** Per-node block size, e.g. 24. */
  maskSize: number;
  /** IPv6 cluster pool, e.g. fd00:10:200::/104; absent = IPv4 only. */
  poolCidrV6?: string;
  /** Per-node IPv6 block size, e.g. 120. */
  maskSizeV6?: number;
  identityGcIntervalMs: number;
  identityGcGraceMs: number;
  /** Default 15 s. */
  heartbeatIntervalMs?: number;
  /** TTL of the election lease (default 15 s): how long a dead leader blocks a successor. */
  electionTtlSeconds?: number;
  /** Candidate id (default `<hostname>-<pid>-<random>`). */
  id?: string;
  version?: string;
  log?: KvLogger;
}

/** What Status reports (mirrors cilium.operator.v1.StatusResponse). */
export interface OperatorStatus {
  version: string;
  clusterName: string;
  state: 'ok' | 'degraded' | 'failure';
  message: string;
  leader: boolean;
  leaderId: string;
  kvstoreConnected: boolean;
  clusterPoolCidr: string;
  nodeMaskSize: number;
  allocations: Array<{ nodeName: string; podCidr: string }>;
  lastHeartbeat: Date | undefined;
  startedAt: Date;
  identities: number;
}

/** One cilium-ts operator. */
export class Operator {
  readonly id: string;
  readonly startedAt = new Date();
  readonly election: LeaderElection;
  readonly ipam: IpamController;
  /** The IPv6 cluster pool, when configured. */
  readonly ipam6: IpamController | undefined;
  readonly identityGc: IdentityGc;
  /** Removes what unregistered nodes left behind (identity references, ipcache entries). */
  readonly nodeGc: NodeGc;
  readonly heartbeat: Heartbeat;
  private readonly log: KvLogger;

  constructor(
    private readonly kv: KvStore,
    readonly config: OperatorConfig,
  ) {
    this.log = config.log ?? (() => undefined);
    this.id = config.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.ipam = new IpamController(kv, config.clusterName, config.poolCidr, config.maskSize, this.log);
    this.ipam6 = config.poolCidrV6 ? new IpamController(kv, config.clusterName, config.poolCidrV6, config.maskSizeV6 ?? 120, this.log, 'ipv6') : undefined;
    this.identityGc = new IdentityGc(kv, config.identityGcIntervalMs, config.identityGcGraceMs, this.log);
    this.nodeGc = new NodeGc(kv, config.clusterName, config.identityGcIntervalMs, config.identityGcGraceMs, this.log);
    this.heartbeat = new Heartbeat(kv, config.heartbeatIntervalMs ?? 15_000, this.log);
    this.election = new LeaderElection(kv, this.id, config.electionTtlSeconds ?? 15, this.log);
    this.election.on('change', (leading) => {
      this.log('info', leading ? 'leading: managing IPAM, identity GC and heartbeat' : 'not leading: standing by', { id: this.id });
      this.ipam.setActive(leading);
      this.ipam6?.setActive(leading);
      this.identityGc.setActive(leading);
      this.nodeGc.setActive(leading);
      this.heartbeat.setActive(leading);
    });
  }

  /** Starts watching and campaigning. */
  start(): void {
    this.ipam.start();
    this.ipam6?.start();
    this.election.start();
  }

  /** The operator's state for the Status RPC. */
  async status(): Promise<OperatorStatus> {
    const kvs = this.kv.status();
    let identities = this.identityGc.identities;
    try {
      identities = (await this.kv.getPrefix(this.kv.keys.identityIdPrefix())).size;
    } catch {
      // keep the last count the GC saw
    }
    const leader = this.election.isLeader;
    const leaderId = leader ? this.id : await this.election.leaderId();
    const state: OperatorStatus['state'] = !kvs.connected ? 'failure' : leader || leaderId !== '' ? 'ok' : 'degraded';
    const message = !kvs.connected
      ? `kvstore unreachable: ${kvs.lastError ?? kvs.message}`
      : leader
        ? 'leading'
        : leaderId !== ''
          ? `standing by; leader is ${leaderId}`
          : 'no leader elected yet';
    return {
      version: this.config.version ?? '',
      clusterName: this.config.clusterName,
      state,
      message,
      leader,
      leaderId,
      kvstoreConnected: kvs.connected,
      clusterPoolCidr: this.config.poolCidr,
      nodeMaskSize: this.config.maskSize,
      allocations: [...this.ipam.allocations()].map(([nodeName, podCidr]) => ({ nodeName, podCidr })),
      lastHeartbeat: this.heartbeat.lastWritten,
      startedAt: this.startedAt,
      identities,
    };
  }

  /** Resigns leadership and stops every loop (the kvstore connection stays the caller's). */
  async stop(): Promise<void> {
    this.ipam.stop();
    this.ipam6?.stop();
    this.identityGc.stop();
    this.nodeGc.stop();
    this.heartbeat.stop();
    await this.election.stop();
  }
}
