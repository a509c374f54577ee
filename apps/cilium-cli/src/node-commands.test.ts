// cilium node list against a gRPC server implementing the agent's Nodes service with canned
// nodes (the real service runs in the three-node lab e2e, tools/src/lab/lab.e2e.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { cli } from './testing/capture.js';

describe('cilium node list', () => {
  let server: Server;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-cli-node-'));
    server = new Server();
    const impl: agent.NodesServer = {
      listNodes: (_call, cb) =>
        cb(null, agent.ListNodesResponse.fromPartial({
          nodes: [
            { name: 'n1', cluster: 'default', ipv4: '192.168.200.1', ipv6: 'fd00:192:168:200::1', podCidr: '10.200.0.0/24', podCidrV6: 'fd00:10:200::/120', source: 'local', local: true },
            { name: 'n2', cluster: 'default', ipv4: '192.168.200.2', podCidr: '10.200.1.0/24', source: 'kvstore' },
          ],
        })),
    };
    server.addService(agent.NodesService, impl);
    const sock = join(dir, 'agent.sock');
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    env = { CILIUM_HOST: `unix://${sock}` };
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints every node with its addresses, pod CIDRs and source, and the same as JSON with -o json', async () => {
    const r = await cli(['node', 'list'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^Name +IPv4 Address +Endpoint CIDR +IPv6 Address +Endpoint CIDR +Source$/);
    assert.match(lines[1]!, /^n1 +192\.168\.200\.1 +10\.200\.0\.0\/24 +fd00:192:168:200::1 +fd00:10:200::\/120 +local$/);
    assert.match(lines[2]!, /^n2 +192\.168\.200\.2 +10\.200\.1\.0\/24 +- +- +kvstore$/);
    assert.equal(lines.length, 3);
    const j = await cli(['node', 'list', '-o', 'json'], env);
    assert.equal(j.code, 0, j.stderr);
    const nodes = JSON.parse(j.stdout) as Array<{ name: string; local: boolean; podCidr: string }>;
    assert.deepEqual(nodes.map((n) => [n.name, n.local, n.podCidr]), [['n1', true, '10.200.0.0/24'], ['n2', false, '10.200.1.0/24']]);
  });

  it('says how to fix an unreachable agent', async () => {
    const r = await cli(['node', 'list'], { CILIUM_HOST: `unix://${join(dir, 'missing.sock')}` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach the agent at .*Nodes\.ListNodes.*is cilium-agent running\?/);
  });
});
