// The CLI's TLS flags against TLS and mutual-TLS Observer servers (certificates made by openssl).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { observer } from '@cilium-ts/api';
import { createServer, type GrpcServer } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { runHubble } from './testing/run-hubble.js';
import { tcpFlow } from './testing/sample-flows.js';
import { makeTestCerts, type TestCerts } from '@cilium-ts/grpc/testing';

const SERVER_NAME = 'ui.hubble-relay.cilium.io';

const impl: observer.ObserverServer = {
  getFlows(call) {
    call.write(observer.GetFlowsResponse.fromPartial({ flow: tcpFlow, nodeName: tcpFlow.nodeName, time: tcpFlow.time }));
    call.end();
  },
  getAgentEvents: (call) => call.end(),
  getDebugEvents: (call) => call.end(),
  getNodes: (_call, cb) => cb(null, observer.GetNodesResponse.fromPartial({})),
  getNamespaces: (_call, cb) => cb(null, observer.GetNamespacesResponse.fromPartial({})),
  serverStatus: (_call, cb) => cb(null, observer.ServerStatusResponse.fromPartial({ numFlows: 1n, maxFlows: 15n, seenFlows: 1n, uptimeNs: 1_000_000_000n })),
};

describe('hubble CLI over TLS', () => {
  const home = mkdtempSync(join(tmpdir(), 'cts-hubble-cli-tls-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home };
  let certs: TestCerts;
  let tlsServer: GrpcServer;
  let mtlsServer: GrpcServer;

  before(async () => {
    certs = makeTestCerts([SERVER_NAME]);
    const start = (tls: Parameters<typeof createServer>[0]['tls']) =>
      createServer({
        component: 'fake-hubble-tls',
        services: [{ definition: observer.ObserverService, implementation: impl }],
        addresses: ['127.0.0.1:0'],
        tls,
        logger: createLogger('fake-hubble-tls', { level: 'error' }),
        reflection: false,
      });
    tlsServer = await start({ cert: certs.server.cert, key: certs.server.key });
    mtlsServer = await start({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true });
    for (const s of [tlsServer, mtlsServer]) s.health.set('hubble.server.Observer', 'SERVING');
  });

  after(async () => {
    await tlsServer?.shutdown({ timeoutMs: 500 });
    await mtlsServer?.shutdown({ timeoutMs: 500 });
    certs?.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  const summaries = (stdout: string) => stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).flow?.Summary);

  it('server TLS: tls:// with the CA and server name from flags', async () => {
    const r = await runHubble(['observe', '-o', 'json', '--server', `tls://${tlsServer.addresses[0]}`,
      '--tls-ca-cert-files', certs.caFile, '--tls-server-name', SERVER_NAME], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summaries(r.stdout), ['TCP Flags: SYN']);
  });

  it('server TLS: --tls and the CA from HUBBLE_* environment variables; status works', async () => {
    const tlsEnv = { ...env, HUBBLE_SERVER: tlsServer.addresses[0], HUBBLE_TLS: 'true', HUBBLE_TLS_CA_CERT_FILES: certs.caFile, HUBBLE_TLS_SERVER_NAME: SERVER_NAME };
    const r = await runHubble(['status'], tlsEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Healthcheck \(via .*\): Ok\nCurrent\/Max Flows: 1\/15/);
  });

  it('server TLS: --tls-allow-insecure skips verification; without it an unknown CA fails', async () => {
    const ok = await runHubble(['observe', '-o', 'json', '--server', tlsServer.addresses[0]!, '--tls', '--tls-allow-insecure', '--timeout', '3s'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(summaries(ok.stdout), ['TCP Flags: SYN']);
    const bad = await runHubble(['observe', '--server', tlsServer.addresses[0]!, '--tls', '--tls-server-name', SERVER_NAME, '--timeout', '2s'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /failed to connect/);
  });

  it('plaintext against a TLS server fails', async () => {
    const r = await runHubble(['observe', '--server', tlsServer.addresses[0]!, '--timeout', '2s'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed to connect/);
  });

  it('mutual TLS: the client certificate gets through; without it the connection is refused', async () => {
    const base = ['observe', '-o', 'json', '--server', `tls://${mtlsServer.addresses[0]}`, '--tls-ca-cert-files', certs.caFile, '--tls-server-name', SERVER_NAME, '--timeout', '3s'];
    const ok = await runHubble([...base, '--tls-client-cert-file', certs.client.certFile, '--tls-client-key-file', certs.client.keyFile], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(summaries(ok.stdout), ['TCP Flags: SYN']);
    const missing = await runHubble(base, env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    const stranger = await runHubble([...base, '--tls-client-cert-file', certs.strangerClient.certFile, '--tls-client-key-file', certs.strangerClient.keyFile], env);
    assert.equal(stranger.code, 1);
    const half = await runHubble([...base, '--tls-client-cert-file', certs.client.certFile], env);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /--tls-client-cert-file and --tls-client-key-file must be given together/);
  });
});
