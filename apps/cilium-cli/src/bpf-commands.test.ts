// cilium bpf ... against a gRPC server implementing the agent's Bpf service with canned
// data (the real service is tested against a real datapath in apps/agent).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { cli } from './testing/capture.js';

describe('cilium bpf', () => {
  let server: Server;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-cli-bpf-'));
    server = new Server();
    const impl: agent.BpfServer = {
      policyGet(call, cb) {
        if (call.request.endpointId !== 12) return cb(Object.assign(new Error('endpoint 13 not found on this node'), { code: status.NOT_FOUND, details: `endpoint ${call.request.endpointId} not found on this node`, metadata: undefined as never }), null);
        cb(null, agent.BpfPolicyGetResponse.fromPartial({
          endpointId: 12, ingressEnforced: true, egressEnforced: false,
          entries: [
            { direction: 'ingress', identity: 0, protocol: 17, port: 53, deny: true },
            { direction: 'ingress', identity: 256, identityLabels: ['k8s:app=client'], protocol: 6, port: 80, deny: false, proxyPort: 0 },
          ],
        }));
      },
      ctList(_call, cb) {
        cb(null, agent.BpfCtListResponse.fromPartial({
          entries: [
            { family: 4, source: '10.0.1.5', sourcePort: 40000, destination: '10.0.1.12', destinationPort: 80, protocol: 6, endpointId: 12, direction: 'ingress', packets: 10n, bytes: 1234n, peerIdentity: 256, state: 'tcp-established', idleSeconds: 3n, expiresInSeconds: 21597n },
            { family: 6, source: 'fd00::5', sourcePort: 5000, destination: 'fd00::12', destinationPort: 53, protocol: 17, endpointId: 12, direction: 'egress', packets: 1n, bytes: 80n, peerIdentity: 2, state: 'non-tcp', expiresInSeconds: 60n },
          ],
        }));
      },
      ipcacheList(_call, cb) {
        cb(null, agent.BpfIpcacheListResponse.fromPartial({ entries: [{ cidr: '10.0.1.0/24', identity: 256, hostIp: '192.168.0.2' }, { cidr: '10.0.1.12/32', identity: 257 }] }));
      },
      metricsList(_call, cb) {
        cb(null, agent.BpfMetricsListResponse.fromPartial({ entries: [{ reason: 0, reasonText: 'Forwarded', direction: 'ingress', packets: 100n, bytes: 6400n }, { reason: 133, reasonText: 'Policy denied', direction: 'egress', packets: 2n, bytes: 120n }] }));
      },
    };
    server.addService(agent.BpfService, impl);
    const sock = join(dir, 'agent.sock');
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    env = { CILIUM_HOST: `unix://${sock}` };
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('policy get prints the policy map as a table, and as JSON with -o json', async () => {
    const r = await cli(['bpf', 'policy', 'get', '12'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Endpoint 12: ingress enforced, egress not enforced/);
    assert.match(r.stdout, /POLICY +DIRECTION +IDENTITY +LABELS \(source:key\[=value\]\) +PORT\/PROTO +PROXY PORT/);
    assert.match(r.stdout, /\nDeny +Ingress +0 +ANY +53\/UDP +NONE\n/);
    assert.match(r.stdout, /\nAllow +Ingress +256 +k8s:app=client +80\/TCP +NONE\n/);
    const j = await cli(['bpf', 'policy', 'get', '12', '-o', 'json'], env);
    const doc = JSON.parse(j.stdout) as { endpointId: number; entries: Array<{ port: number; deny: boolean }> };
    assert.equal(doc.endpointId, 12);
    assert.deepEqual(doc.entries.map((e) => [e.port, e.deny]), [[53, true], [80, false]]);
  });

  it('policy get of an unknown endpoint fails with the agent\'s message; a bad id is a usage error', async () => {
    const r = await cli(['bpf', 'policy', 'get', '13'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /endpoint 13 not found/);
    const u = await cli(['bpf', 'policy', 'get', 'web'], env);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /endpoint ID "web" is not a number/);
  });

  it('ct list shows one connection per line, IPv6 in brackets', async () => {
    const r = await cli(['bpf', 'ct', 'list'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ENDPOINT +DIR +PROTO +SOURCE +DESTINATION +STATE +PACKETS +BYTES +IDLE +EXPIRES +PEER IDENTITY\n/);
    assert.match(r.stdout, /\n12 +IN +TCP +10\.0\.1\.5:40000 +10\.0\.1\.12:80 +tcp-established +10 +1234 +3s +21597s +256\n/);
    assert.match(r.stdout, /\n12 +OUT +UDP +\[fd00::5\]:5000 +\[fd00::12\]:53 +non-tcp +1 +80 +0s +60s +2\n/);
    const j = JSON.parse((await cli(['bpf', 'ct', 'list', '-o', 'json'], env)).stdout) as Array<{ bytes: string }>;
    assert.deepEqual(j.map((e) => e.bytes), ['1234', '80'], 'uint64 as strings, as for every JSON output');
  });

  it('ipcache list and metrics list', async () => {
    const ip = await cli(['bpf', 'ipcache', 'list'], env);
    assert.equal(ip.stdout, 'IP PREFIX/ADDRESS  IDENTITY  HOST IP\n10.0.1.0/24        256       192.168.0.2\n10.0.1.12/32       257       -\n');
    const m = await cli(['bpf', 'metrics', 'list'], env);
    assert.equal(m.stdout, 'REASON         DIRECTION  PACKETS  BYTES\nForwarded      Ingress    100      6400\nPolicy denied  Egress     2        120\n');
    const j = JSON.parse((await cli(['bpf', 'metrics', 'list', '-o', 'json'], env)).stdout) as Array<{ reason: number }>;
    assert.deepEqual(j.map((e) => e.reason), [0, 133]);
  });

  it('bpf commands are listed in the help', async () => {
    const r = await cli(['--help'], env);
    for (const c of ['bpf policy get ENDPOINT', 'bpf ct list', 'bpf ipcache list', 'bpf metrics list']) assert.ok(r.stdout.includes(c), c);
  });
});
