// TLS and mutual TLS on hubble-server's TCP listener, with certificates made by openssl.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { observer, peer } from '@cilium-ts/api';
import { createClient, unary, type ClientTlsOptions } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { startHubbleServer, type RunningHubbleServer } from './hubble-server.js';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { waitUntil } from './testing/grpc-helpers.js';
import { makeTestCerts, type TestCerts } from '@cilium-ts/grpc/testing';

const SERVER_NAME = 'node-1.default.hubble-grpc.cilium.io';

async function serverStatus(address: string, tls: ClientTlsOptions | undefined): Promise<observer.ServerStatusResponse> {
  const client = createClient(observer.ObserverClient, address, { tls });
  try {
    return await unary(client, 'serverStatus', observer.ServerStatusRequest.fromPartial({}), { deadline: 5000 });
  } finally {
    client.close();
  }
}

const refused = (e: ServiceError) => e.code === status.UNAVAILABLE;

describe('hubble-server TLS', () => {
  let certs: TestCerts;
  let dir: string;
  let fake: FakeAgent;
  let tlsServer: RunningHubbleServer;
  let mtlsServer: RunningHubbleServer;

  before(async () => {
    certs = makeTestCerts(['*.default.hubble-grpc.cilium.io']);
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-tls-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'));
    const common = {
      agentAddress: fake.target, nodeName: 'node-1', clusterName: 'default', bufferCapacity: 15,
      logger: createLogger('hubble-server-tls-test', { level: 'error' }), agentBackoffMs: 20,
    };
    tlsServer = await startHubbleServer({
      ...common,
      listenAddresses: ['127.0.0.1:0', `unix://${join(dir, 'tls.sock')}`],
      tls: { cert: certs.server.cert, key: certs.server.key },
    });
    mtlsServer = await startHubbleServer({
      ...common,
      listenAddresses: ['127.0.0.1:0'],
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true },
    });
  });

  after(async () => {
    await tlsServer?.stop();
    await mtlsServer?.stop();
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    certs?.cleanup();
  });

  test('server TLS: a client trusting the CA gets through; plaintext and untrusting clients are refused', async () => {
    const addr = tlsServer.addresses[0]!;
    assert.equal((await serverStatus(addr, { ca: certs.ca, serverName: SERVER_NAME })).maxFlows, 15n);
    await assert.rejects(serverStatus(addr, undefined), refused);
    await assert.rejects(serverStatus(addr, { serverName: SERVER_NAME }), refused);
    await assert.rejects(serverStatus(addr, { ca: certs.ca, serverName: 'node-1.other.hubble-grpc.cilium.io' }), refused);
  });

  test('server TLS: the unix socket stays plaintext and Peer announces TLS with the upstream server name', async () => {
    const pc = createClient(peer.PeerClient, `unix://${join(dir, 'tls.sock')}`);
    try {
      const notes: peer.ChangeNotification[] = [];
      const stream = pc.notify(peer.NotifyRequest.fromPartial({}));
      stream.on('data', (n: peer.ChangeNotification) => notes.push(n));
      stream.on('error', () => undefined);
      await waitUntil('self announced', () => notes.length === 1);
      stream.cancel();
      assert.equal(notes[0]!.name, 'node-1');
      assert.equal(notes[0]!.tls?.serverName, SERVER_NAME);
    } finally {
      pc.close();
    }
  });

  test('mutual TLS: a client certificate from the CA gets through', async () => {
    const tls = { ca: certs.ca, serverName: SERVER_NAME, cert: certs.client.cert, key: certs.client.key };
    assert.equal((await serverStatus(mtlsServer.addresses[0]!, tls)).maxFlows, 15n);
  });

  test('mutual TLS: no client certificate, or one from another CA, is rejected', async () => {
    const addr = mtlsServer.addresses[0]!;
    await assert.rejects(serverStatus(addr, { ca: certs.ca, serverName: SERVER_NAME }), refused);
    await assert.rejects(
      serverStatus(addr, { ca: certs.ca, serverName: SERVER_NAME, cert: certs.strangerClient.cert, key: certs.strangerClient.key }),
      refused,
    );
  });
});
