import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { status } from '@grpc/grpc-js';
import { createClient, unary } from './client.js';
import { createServer, type GrpcServer } from './server.js';
import { memoryLogger, tempDir } from './test-helpers.js';

// A CA and a server certificate for *.hubble-relay.cilium.io, made with openssl.
const dir = tempDir('grpc-tls');
const pem = (name: string) => readFileSync(join(dir.path, name));
let server: GrpcServer;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir.path, stdio: ['ignore', 'ignore', 'pipe'] });
}

before(async () => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=relay', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir.path, 'ext.cnf'), 'subjectAltName=DNS:*.hubble-relay.cilium.io\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'ext.cnf', '-out', 'server.crt');
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
  dir.remove();
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
