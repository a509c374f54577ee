// TLS end to end: a relay serving mutual TLS, dialling a hubble-server that requires mutual
// TLS (announced with a TLS server name by the Peer service), certificates made by openssl.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, ServerCredentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { observer, peer, relay as relayApi } from '@cilium-ts/api';
import { createClient, type ClientTlsOptions } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, FakeHubble, tempDir } from './testing/fake-hubble.js';
import { makeTestCerts, type TestCerts } from '@cilium-ts/grpc/testing';

const quiet = createLogger('hubble-relay-tls-test', { level: 'error' });
const NODE_TLS_NAME = 'node-a.default.hubble-grpc.cilium.io';
const RELAY_TLS_NAME = 'ui.hubble-relay.cilium.io';

function getFlows(address: string, tls: ClientTlsOptions): Promise<observer.GetFlowsResponse[]> {
  const client = createClient(observer.ObserverClient, address, { tls });
  return new Promise<observer.GetFlowsResponse[]>((resolve, reject) => {
    const got: observer.GetFlowsResponse[] = [];
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 10n }), new Metadata(), { deadline: Date.now() + 5000 });
    stream.on('data', (r: observer.GetFlowsResponse) => got.push(r));
    stream.on('error', (e: ServiceError) => reject(e));
    stream.on('end', () => resolve(got));
  }).finally(() => client.close());
}

describe('hubble-relay TLS', () => {
  const tmp = tempDir('cts-relay-tls-');
  let certs: TestCerts;
  let node: FakeHubble;
  const peers = new FakeHubble('peer-service', join(tmp.dir, 'peer.sock'));
  let relay: Relay;
  let relayWithoutClientCert: Relay;
  let relayGrpcReader: Relay;

  before(async () => {
    certs = makeTestCerts(['*.default.hubble-grpc.cilium.io', '*.hubble-relay.cilium.io']);
    node = new FakeHubble('node-a', join(tmp.dir, 'unused.sock'),
      ServerCredentials.createSsl(certs.ca, [{ cert_chain: certs.server.cert, private_key: certs.server.key }], true));
    node.addFlow(1000);
    await node.start();
    peers.peers = [peer.ChangeNotification.fromPartial({
      name: 'node-a', address: node.address, type: peer.ChangeNotificationType.PEER_ADDED, tls: { serverName: NODE_TLS_NAME },
    })];
    await peers.start();
    const common = { peerService: peers.address, logger: quiet, backoffInitialMs: 50, sortBufferDrainTimeoutMs: 100 };
    relay = await startRelay({
      ...common,
      listenAddresses: ['127.0.0.1:0'],
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true },
      peerTlsCredentials: () => credentials.createSsl(certs.ca, certs.client.key, certs.client.cert),
      peerTlsMaterial: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key },
    });
    // Only grpc-js credentials: GetFlows from the TLS node goes through grpc-js.
    relayGrpcReader = await startRelay({
      ...common,
      listenAddresses: [`unix://${join(tmp.dir, 'relay3.sock')}`],
      peerTlsCredentials: () => credentials.createSsl(certs.ca, certs.client.key, certs.client.cert),
    });
    relayWithoutClientCert = await startRelay({
      ...common,
      listenAddresses: [`unix://${join(tmp.dir, 'relay2.sock')}`],
      peerTlsCredentials: () => credentials.createSsl(certs.ca),
    });
    await eventually('node-a available through TLS', () => (relay.peers.list()[0]?.available && relayGrpcReader.peers.list()[0]?.available ? true : undefined));
    await eventually('node-a known to the relay without a client certificate', () => (relayWithoutClientCert.peers.list().length === 1 ? true : undefined));
  });

  after(async () => {
    await relay?.stop();
    await relayWithoutClientCert?.stop();
    await relayGrpcReader?.stop();
    node?.kill();
    peers.kill();
    tmp.remove();
    certs?.cleanup();
  });

  it('serves flows over mutual TLS from a node reached over mutual TLS', async () => {
    const got = await getFlows(relay.addresses[0]!, { ca: certs.ca, serverName: RELAY_TLS_NAME, cert: certs.client.cert, key: certs.client.key });
    assert.equal(got[0]?.nodeStatus?.stateChange, relayApi.NodeState.NODE_CONNECTED);
    assert.deepEqual(got[0]?.nodeStatus?.nodeNames, ['node-a']);
    assert.deepEqual(got.filter((r) => r.flow).map((r) => r.flow!.Summary), ['node-a-1000']);
    assert.equal(relay.peers.list()[0]?.tls?.serverName, NODE_TLS_NAME);
  });

  it('reads a TLS node through grpc-js when it has only grpc-js credentials', async () => {
    const got = await getFlows(`unix://${join(tmp.dir, 'relay3.sock')}`, {});
    assert.deepEqual(got.filter((r) => r.flow).map((r) => r.flow!.Summary), ['node-a-1000']);
  });

  it('rejects relay clients without a client certificate or with one from another CA', async () => {
    const addr = relay.addresses[0]!;
    const unavailable = (e: ServiceError) => e.code === Status.UNAVAILABLE;
    await assert.rejects(getFlows(addr, { ca: certs.ca, serverName: RELAY_TLS_NAME }), unavailable);
    await assert.rejects(getFlows(addr, { ca: certs.ca, serverName: RELAY_TLS_NAME, cert: certs.strangerClient.cert, key: certs.strangerClient.key }), unavailable);
  });

  it('a relay without a client certificate cannot reach the mTLS node', async () => {
    const got = await getFlows(`unix://${join(tmp.dir, 'relay2.sock')}`, {});
    assert.equal(got[0]?.nodeStatus?.stateChange, relayApi.NodeState.NODE_UNAVAILABLE);
    assert.deepEqual(got[0]?.nodeStatus?.nodeNames, ['node-a']);
    assert.equal(got.filter((r) => r.flow).length, 0);
    assert.equal(relayWithoutClientCert.peers.list()[0]?.available, false);
  });
});
