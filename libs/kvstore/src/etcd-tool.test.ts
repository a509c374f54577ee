// Exercises tools/etcd (the bash script the lab and developers use to run etcd).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from './etcd-process.js';
import { KvStore } from './kvstore.js';

const script = fileURLToPath(new URL('../../../tools/etcd', import.meta.url));

interface ToolStatus {
  running: boolean;
  healthy: boolean;
  pid: number | null;
  endpoint: string;
  dataDir: string;
}

describe('tools/etcd', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'cts-etcd-tool-'));
  const tool = (...args: string[]): ToolStatus =>
    JSON.parse(execFileSync(script, [...args, '--run-dir', runDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as ToolStatus;

  after(() => {
    try {
      tool('stop');
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('starts etcd, reports status as JSON, is idempotent, and stops removing the data', async () => {
    const clientPort = await freeTcpPort();
    const peerPort = await freeTcpPort();
    const dataDir = join(runDir, 'data');
    const started = tool('start', '--client-port', String(clientPort), '--peer-port', String(peerPort), '--data-dir', dataDir);
    assert.equal(started.running, true);
    assert.equal(started.healthy, true);
    assert.equal(started.endpoint, `http://127.0.0.1:${clientPort}`);
    assert.ok(existsSync(join(runDir, 'etcd.pid')));

    const kv = await KvStore.connect({ endpoints: [started.endpoint], dialTimeoutMs: 2000 });
    try {
      await kv.put('cilium/tool-test', 'ok');
      assert.equal(await kv.get('cilium/tool-test'), 'ok');
    } finally {
      await kv.close();
    }

    const again = tool('start');
    assert.equal(again.pid, started.pid, 'a second start keeps the running etcd');
    const status = tool('status');
    assert.deepEqual({ running: status.running, healthy: status.healthy, dataDir: status.dataDir }, { running: true, healthy: true, dataDir });

    const stopped = tool('stop');
    assert.equal(stopped.running, false);
    assert.equal(existsSync(dataDir), false, 'stop removes the data dir');
    assert.equal(existsSync(`/proc/${started.pid}`), false, 'the etcd process is gone');
    assert.equal(tool('stop').running, false, 'stop is idempotent');
  });

  it('rejects unknown arguments', () => {
    assert.throws(() => execFileSync(script, ['start', '--bogus'], { stdio: 'pipe' }), /unknown argument '--bogus'/);
  });
});
