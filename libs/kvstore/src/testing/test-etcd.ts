// Helpers for tests that need a real etcd (used by this lib's and the operator's tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdTls, freeTcpPort, startEtcd, type EtcdServer } from '../etcd-process.js';

/** An etcd in a temp dir on free ports; restart() keeps the ports, stop() removes everything. */
export interface TestEtcd {
  endpoint: string;
  dir: string;
  clientPort: number;
  peerPort: number;
  server: EtcdServer;
  /** Stops etcd and starts it again on the same ports, with its data or with a fresh data dir. */
  restart(opts: { wipe: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a throwaway etcd for a test (plaintext, or TLS with client certificates required when `tls` is given). */
export async function startTestEtcd(name = 'test', opts: { tls?: EtcdTls } = {}): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), `cts-etcd-${name}-`));
  const clientPort = await freeTcpPort();
  const peerPort = await freeTcpPort();
  let generation = 0;
  const start = () => startEtcd({ dataDir: join(dir, `data${generation}`), clientPort, peerPort, log: join(dir, 'etcd.log'), tls: opts.tls });
  const t: TestEtcd = {
    endpoint: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`,
    dir,
    clientPort,
    peerPort,
    server: await start().catch((e) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }),
    async restart({ wipe }) {
      await t.server.stop();
      if (wipe) generation++;
      t.server = await start();
    },
    async stop() {
      await t.server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Polls `check` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
