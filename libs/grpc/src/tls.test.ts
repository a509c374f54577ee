import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { status } from '@grpc/grpc-js';
import { createClient, unary } from './client.js';
import { createServer, type GrpcServer } from './server.js';
import { memoryLogger } from '@cilium-ts/process/testing';
import { makeTestCerts } from './testing/test-certs.js';

// A CA and a server certificate for *.hubble-relay.cilium.io, made with openssl.
const certs = makeTestCerts(['*.hubble-relay.cilium.io']);
const pem = (name: 'ca.crt' | 'server.crt' | 'server.key') =>
  name === 'ca.crt' ? certs.ca : name === 'server.crt' ? certs.server.cert : certs.server.key;
let server: GrpcServer;

before(async () => {
  server = await createServer({
    component: 'relay',
    logger: memoryLogger().logger,
    addresses: ['127.0.0.1:0'],
    tls: { cert: pem('server.crt'), key: pem('server.key') },
    services: [{ definition: agent.DaemonService, implementation: { status: async () => agent.StatusResponse.create({ nodeName: 'tls' }) } }],
  });
});

after(async () => {
  await server?.shutdown({ timeoutMs: 2000 });
  certs.cleanup();
});

test('TLS listener: a client trusting the CA with the right server name gets through', async () => {
  const client = createClient(agent.DaemonClient, server.addresses[0]!, {
    tls: { ca: pem('ca.crt'), serverName: 'ui.hubble-relay.cilium.io' },
  });
  try {
    assert.equal((await unary(client, 'status', agent.StatusRequest.create(), { deadline: 5000 })).nodeName, 'tls');
  } finally {
    client.close();
  }
});

test('TLS listener: plaintext clients and clients not trusting the CA are refused', async () => {
  for (const options of [{}, { tls: { serverName: 'ui.hubble-relay.cilium.io' } }]) {
    const client = createClient(agent.DaemonClient, server.addresses[0]!, options);
    try {
      await assert.rejects(unary(client, 'status', agent.StatusRequest.create(), { deadline: 5000 }),
        (e: { code: number }) => e.code === status.UNAVAILABLE);
    } finally {
      client.close();
    }
  }
});
