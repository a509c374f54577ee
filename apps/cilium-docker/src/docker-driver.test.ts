// The plugin's protocol surface without Docker or an agent: the socket answers Docker's
// activation and capability calls, and refuses bad requests with HTTP 400 and an Err that
// names the call and the field, before anything is allocated (the agent is never called).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Server } from 'node:http';
import { createLogger } from '@cilium-ts/process';
import type { DockerAgent } from './agent-client.js';
import { containerIdentity } from '@cilium-ts/policy';
import { dockerDriver, POOL_ID } from './docker-driver.js';
import { servePlugin } from './plugin-server.js';

function post(socketPath: string, path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('cilium-docker plugin protocol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cilium-docker-'));
  const sock = join(dir, 'cilium.sock');
  const calls: string[] = [];
  const agent: DockerAgent = {
    allocate: async () => {
      calls.push('allocate');
      throw new Error('not expected');
    },
    release: async () => {
      calls.push('release');
      return 0;
    },
    createEndpoint: async () => {
      calls.push('createEndpoint');
      throw new Error('not expected');
    },
    deleteEndpoint: async () => false,
    listEndpoints: async () => [],
    watchConnected: () => undefined,
    close: () => undefined,
  };
  let server: Server;
  before(async () => {
    server = await servePlugin(sock, dockerDriver({ agent, dockerSocket: join(dir, 'no-docker.sock'), nodeNetns: '', logger: createLogger('test', { level: 'error' }) }), createLogger('test', { level: 'error' }));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('activation and capabilities', async () => {
    assert.deepEqual((await post(sock, '/Plugin.Activate', '')).json, { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.equal((await post(sock, '/NetworkDriver.GetCapabilities', '{}')).json.Scope, 'local');
    assert.deepEqual((await post(sock, '/IpamDriver.RequestPool', '{"AddressSpace":"cilium-ts-local","Pool":"","V6":false}')).json, { PoolID: POOL_ID, Pool: '0.0.0.0/0', Data: {} });
  });

  test('bad requests: HTTP 400 with an Err naming the call and the field; nothing reaches the agent', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/NetworkDriver.Nope', '{}', /unknown call POST \/NetworkDriver.Nope/],
      ['/IpamDriver.RequestPool', '{not json', /RequestPool: request body is not JSON/],
      ['/IpamDriver.RequestPool', '[]', /RequestPool: request body must be a JSON object/],
      ['/IpamDriver.RequestPool', '{"V6":true}', /RequestPool: IPv6 pools are not supported/],
      ['/IpamDriver.RequestPool', '{"Pool":"10.1.0.0/24"}', /RequestPool: Pool "10.1.0.0\/24": .*drop --subnet/],
      ['/IpamDriver.RequestAddress', '{"PoolID":"other"}', /RequestAddress: PoolID "other" is not this plugin's/],
      ['/IpamDriver.RequestAddress', `{"PoolID":"${POOL_ID}","Address":"1.2.3"}`, /RequestAddress: Address "1.2.3" is not an IPv4 address/],
      ['/NetworkDriver.CreateNetwork', '{"NetworkID":"n1","IPv4Data":[{"Pool":"172.18.0.0/16"}]}', /CreateNetwork: IPv4Data .*--ipam-driver cilium/],
      ['/NetworkDriver.CreateEndpoint', '{"NetworkID":"n1"}', /CreateEndpoint: EndpointID is required/],
      ['/NetworkDriver.CreateEndpoint', '{"NetworkID":"n1","EndpointID":"ab12ab12ab12ab12","Interface":{}}', /CreateEndpoint: Interface.Address is missing/],
      ['/NetworkDriver.CreateEndpoint', '{"NetworkID":"n1","EndpointID":"../x","Interface":{"Address":"10.0.0.1/32"}}', /CreateEndpoint: EndpointID "..\/x" is not a Docker endpoint id/],
    ];
    for (const [path, body, want] of cases) {
      const r = await post(sock, path, body);
      assert.equal(r.status, 400, `${path} ${body}: ${JSON.stringify(r.json)}`);
      assert.match(String(r.json.Err), want);
    }
    assert.deepEqual(calls, []);
  });

  test('Docker unreachable during CreateEndpoint: HTTP 500 naming it; no veth or agent call', async () => {
    const r = await post(sock, '/NetworkDriver.CreateEndpoint', '{"NetworkID":"n1","EndpointID":"ab12ab12ab12ab12","Interface":{"Address":"10.0.0.1/32"}}');
    assert.equal(r.status, 500);
    assert.match(String(r.json.Err), /CreateEndpoint: cannot read the container's labels: Docker API at .*no-docker.sock/);
    assert.deepEqual(calls, []);
  });

  test('container labels become container:<k>=<v>; the namespace label is k8s: and the namespace', () => {
    assert.deepEqual(containerIdentity({ app: 'web', 'io.kubernetes.pod.namespace': 'default' }), {
      labels: ['container:app=web', 'k8s:io.kubernetes.pod.namespace=default'],
      namespace: 'default',
    });
    assert.deepEqual(containerIdentity({}), { labels: [], namespace: '' });
  });
});
