// The operator's kvstore heartbeat in the agent's status, against a real etcd and the real
// cilium-operator process (heartbeat every 500 ms, so stale after 1.5 s): healthy while it
// runs, degraded with the heartbeat's age once it is stopped, healthy again when restarted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeartbeatMonitor, KvStore } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { agentStatus } from './agent-status.js';

const operatorMain = fileURLToPath(new URL('../../operator/dist/main.js', import.meta.url));

describe('operator heartbeat in the agent status', () => {
  let etcd: TestEtcd;
  let kv: KvStore;
  let monitor: HeartbeatMonitor;
  let dir: string;
  let operator: ChildProcess | undefined;
  let output = '';

  function startOperator(): void {
    operator = spawn(
      process.execPath,
      [operatorMain, '--kvstore-endpoints', etcd.endpoint, '--kvstore-prefix', 'hb', '--heartbeat-interval', '500ms', '--listen', `unix://${join(dir, 'operator.sock')}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    operator.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    operator.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  }
  async function stopOperator(): Promise<void> {
    const p = operator;
    operator = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
  const kvstore = () => {
    const st = agentStatus({ cfg: { kvstoreEndpoints: [etcd.endpoint], bpfPinDir: '/x', routingMode: 'native' }, underlay: 'ipv4', features: [], kv, heartbeat: monitor });
    return st.subsystems.find((s) => s.name === 'kvstore')!;
  };

  before(async () => {
    if (!existsSync(operatorMain)) throw new Error(`${operatorMain} is missing: run \`npm run build\` at the root first`);
    dir = mkdtempSync(join(tmpdir(), 'cts-heartbeat-'));
    etcd = await startTestEtcd('heartbeat');
    kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'hb', healthIntervalMs: 200 });
    monitor = new HeartbeatMonitor(kv, { intervalMs: 500 }).start();
  });
  after(async () => {
    await stopOperator();
    monitor?.close();
    await kv?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('stopped operator: kvstore degraded with the age; restarted: healthy', async () => {
    assert.equal(kvstore().state, 'ok');
    assert.match(kvstore().message, /no operator heartbeat seen yet/);
    startOperator();
    await waitFor('a fresh heartbeat', () => /operator heartbeat \d+\.\ds ago/.test(kvstore().message), 30_000).catch((e) => assert.fail(`${e.message}\n${output}`));
    assert.equal(kvstore().state, 'ok');

    await stopOperator();
    await waitFor('the heartbeat to go stale', () => kvstore().state === 'degraded', 30_000);
    assert.match(kvstore().message, /operator heartbeat is \d+\.\ds old \(limit 1\.5s\): is cilium-operator running\?/);
    const age = monitor.status().ageMs!;
    assert.ok(age > 1500, `age ${age} ms is over the limit`);

    startOperator();
    await waitFor('the kvstore to be healthy again', () => kvstore().state === 'ok', 30_000).catch((e) => assert.fail(`${e.message}\n${output}`));
    assert.match(kvstore().message, /operator heartbeat \d+\.\ds ago/);
  });
});
