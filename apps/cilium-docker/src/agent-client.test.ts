// The plugin's agent client across an agent restart, against a real gRPC server on a unix
// socket: with the agent gone a call fails naming the agent as unreachable; the first call
// after the agent is back succeeds (grpc-js fails calls at once while its channel backs off
// after a lost connection, so without the client's bounded wait for a reconnect this call
// would fail and Docker's next `docker run` with it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { AgentCallError, connectAgent } from './agent-client.js';

describe('cilium-docker agent client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cilium-docker-agent-'));
  const socket = join(dir, 'agent.sock');
  let server: Server | undefined;
  let served = 0;

  async function startAgent(): Promise<void> {
    rmSync(socket, { force: true });
    const s = new Server();
    const ipam: UntypedServiceImplementation = {
      allocate: (_call: unknown, cb: (err: null, res: agent.IpamAllocateResponse) => void) => {
        served++;
        cb(null, agent.IpamAllocateResponse.fromPartial({ ip: '10.0.0.5', gateway: '10.0.0.1', prefixLength: 24, podCidr: '10.0.0.0/24' }));
      },
    };
    s.addService(agent.IpamService, ipam);
    await new Promise<void>((resolve, reject) => s.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    server = s;
  }
  function stopAgent(): void {
    server?.forceShutdown();
    server = undefined;
    rmSync(socket, { force: true });
  }
  after(() => {
    stopAgent();
    rmSync(dir, { recursive: true, force: true });
  });

  test('agent down: the call fails naming the agent unreachable; agent back: the next call succeeds', async () => {
    await startAgent();
    const client = connectAgent(`unix://${socket}`, 10_000);
    try {
      assert.equal((await client.allocate('docker')).ip, '10.0.0.5');
      stopAgent();
      await assert.rejects(client.allocate('docker'), (e: unknown) => e instanceof AgentCallError && /agent Ipam.Allocate at unix:\/\/.*\(unreachable: is cilium-agent running\?\)/.test(e.message));
      await startAgent();
      assert.equal((await client.allocate('docker')).ip, '10.0.0.5', 'the first call after the agent restart');
      assert.equal(served, 2);
    } finally {
      client.close();
    }
  });
});
