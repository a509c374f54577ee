// One real agent node for the CLI's e2e tests: its own node namespace (an underlay veth with
// the node address), a real etcd, the agent in tunnel mode with its pins, state and socket
// under the test's names, and one pod added through the CNI plugin as a runtime would.
// stop() removes all of it (also after a failed start).
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Datapath } from '@cilium-ts/bpf';
import { freeTcpPort } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { cli } from './capture.js';

/** The main script of a workspace app (`apps/<app>/dist/main.js`). */
export const appMain = (app: string): string => fileURLToPath(new URL(`../../../${app}/dist/main.js`, import.meta.url));

/** Runs argv and returns its stdout; throws with its stderr when it fails. */
export function sh(...argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** What distinguishes one test file's node from another's. */
export interface AgentNodeOptions {
  /** Short name: namespaces, pins and the work dir are `cts-<tag>-<pid>...`. */
  tag: string;
  podCidr: string;
  /** The node's address on its underlay device (a /24). */
  nodeIp: string;
}

/** A real agent in its own node namespace, with one pod (see the file comment). */
export class AgentNode {
  readonly base: string;
  readonly nodeNs: string;
  readonly podNs: string;
  readonly workDir: string;
  readonly pinDir: string;
  /** The agent's API address (`unix://...`), for `-H`. */
  readonly host: string;
  /** The kvstore prefix the agent uses. */
  readonly prefix: string;
  etcd: TestEtcd | undefined;
  child: ChildProcess | undefined;
  metricsPort = 0;
  /** The pod's IPv4 address (set by start). */
  podIp = '';

  constructor(private readonly opts: AgentNodeOptions) {
    this.base = `cts-${opts.tag}-${process.pid}`;
    this.nodeNs = `${this.base}-n`;
    this.podNs = `${this.base}-p`;
    this.workDir = `/tmp/${this.base}`;
    this.pinDir = `/sys/fs/bpf/${this.base}`;
    this.host = `unix://${this.workDir}/agent.sock`;
    this.prefix = this.base;
  }

  /** Starts etcd, the node namespace, the agent, and adds the pod. */
  async start(): Promise<void> {
    const { base, nodeNs, podNs, workDir, pinDir, opts } = this;
    for (const app of ['agent', 'cni']) if (!existsSync(appMain(app))) throw new Error(`${appMain(app)} is missing: run \`npm run build\` at the root first`);
    for (const ns of [nodeNs, podNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(`${workDir}/state`, { recursive: true });
    this.etcd = await startTestEtcd(opts.tag);
    sh('ip', 'netns', 'add', nodeNs);
    sh('ip', 'netns', 'add', podNs);
    sh('ip', '-n', nodeNs, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', nodeNs, 'link', 'add', 'underlay0', 'type', 'veth', 'peer', 'name', 'underlay1');
    sh('ip', '-n', nodeNs, 'link', 'set', 'underlay1', 'up');
    sh('ip', '-n', nodeNs, 'addr', 'add', `${opts.nodeIp}/24`, 'dev', 'underlay0');
    sh('ip', '-n', nodeNs, 'link', 'set', 'underlay0', 'up');
    this.metricsPort = await freeTcpPort();
    const log = openSync(`${workDir}/agent.log`, 'a');
    // prettier-ignore
    const child = spawn(process.execPath, [
      appMain('agent'), '--node-name', `${base}-self`, '--pod-cidr', opts.podCidr, '--node-ip', opts.nodeIp, '--routing-mode', 'tunnel',
      '--node-netns', `/run/netns/${nodeNs}`, '--kvstore-endpoints', this.etcd.endpoint, '--kvstore-prefix', this.prefix,
      '--state-dir', `${workDir}/state`, '--bpf-pin-dir', pinDir, '--listen', this.host, '--metrics-port', String(this.metricsPort),
      '--metrics-host', '127.0.0.1',
    ], { stdio: ['ignore', log, log] });
    this.child = child;
    await waitFor('the agent API', async () => child.exitCode !== null || (await cli(['status', '-H', this.host])).code === 0, 60_000);
    assert.equal(child.exitCode, null, `the agent exited: ${readFileSync(`${workDir}/agent.log`, 'utf8').slice(-2000)}`);
    const add = await this.cniAdd(`${base}-pod`);
    assert.equal(add.code, 0, JSON.stringify(add.out));
    this.podIp = add.out.ips![0]!.address.split('/')[0]!;
  }

  /** Runs the CNI plugin's ADD in the node namespace as a runtime would. */
  cniAdd(containerId: string): Promise<{ code: number; out: { ips?: Array<{ address: string }> } }> {
    const conf = { cniVersion: '1.0.0', name: 'cilium-ts', type: 'cilium-cni', 'agent-socket': this.host, runtimeConfig: { labels: { app: 'ops' } } };
    const env = {
      ...process.env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${this.podNs}`,
      CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
    };
    return new Promise((resolve) => {
      const p = execFile('nsenter', [`--net=/run/netns/${this.nodeNs}`, '--', process.execPath, appMain('cni')], { env, timeout: 60_000 }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout.trim() === '' ? {} : (JSON.parse(stdout) as object) }),
      );
      p.stdin!.end(JSON.stringify(conf));
    });
  }

  /** Kills the agent (if it runs) and removes the namespaces, pins, work dir and etcd. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    for (const ns of [this.podNs, this.nodeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(this.pinDir);
    rmSync(this.workDir, { recursive: true, force: true });
    await this.etcd?.stop();
  }
}
