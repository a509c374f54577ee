import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { proxy as api, reflectionV1 } from '@cilium-ts/api';
import { createClient, createServer, type GrpcServer } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { status, type ServiceError } from '@grpc/grpc-js';
import { L7Proxy } from './proxy.js';
import { proxyService } from './proxy-service.js';
import { readResponse } from './testing/http-response.js';

// The gRPC side against a real server on loopback: the proxy's listener is reached
// directly (no TPROXY), so the "original destination" is its own listener address, which
// the pushed policy names as the endpoint's address and port; only denials are asked for
// (an allowed request would be forwarded to that same address).
describe('Proxy gRPC service', () => {
  const logger = createLogger('proxy-test', { level: 'error' });
  let proxy: L7Proxy;
  let server: GrpcServer;
  let client: api.ProxyClient;
  let listenerPort = 0;

  before(async () => {
    proxy = new L7Proxy({ identities: { identityOf: () => 5001 }, logger, ports: { ingress: 0, egress: 0 }, dnsPort: 0, markUpstream: false });
    const listeners = await proxy.start();
    listenerPort = Number(listeners.find((l) => l.direction === 'ingress')!.address.split(':').pop());
    server = await createServer({ component: 'proxy', services: [proxyService(proxy, logger, '0.1.0')], addresses: ['127.0.0.1:0'], logger });
    client = createClient(api.ProxyClient, server.addresses[0]!);
  });
  after(async () => {
    client.close();
    await server.shutdown({ timeoutMs: 2000 });
    await proxy.stop();
  });

  const policy = (revision: bigint, path: string): api.PolicyUpdate => api.PolicyUpdate.fromJSON({
    revision: String(revision),
    endpoints: [{ endpointId: 52, identity: 5002, addresses: ['127.0.0.1'], ports: [{ direction: 'INGRESS', port: listenerPort, proxyPort: 10001, peers: [{ identity: 5001, http: [{ method: 'GET', path }] }] }] }],
  });
  const get = async (path: string): Promise<number> => {
    const s = net.connect(listenerPort, '127.0.0.1');
    try {
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return (await readResponse(s)).status;
    } finally {
      s.destroy();
    }
  };

  test('Sync acks each revision once it is enforced; an invalid update ends the stream with INVALID_ARGUMENT and changes nothing', async () => {
    const call = client.sync();
    const acks: api.PolicyAck[] = [];
    const next = (): Promise<api.PolicyAck> => new Promise((resolve, reject) => {
      call.once('data', (a: api.PolicyAck) => { acks.push(a); resolve(a); });
      call.once('error', reject);
    });
    let ack = next();
    call.write(policy(1n, '/public'));
    assert.deepEqual(await ack, api.PolicyAck.fromPartial({ revision: 1n, endpointIds: [52] }));
    assert.equal(await get('/private'), 403);
    ack = next();
    call.write(policy(2n, '/private'));
    assert.equal((await ack).revision, 2n);
    assert.equal(await get('/public'), 403);
    const failed = new Promise<ServiceError>((resolve) => call.once('error', resolve));
    call.write(policy(3n, '(a)\\1'));
    const err = await failed;
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /endpoints\[0\]\.ports\[0\]\.peers\[0\]\.http\[0\]\.path/);
    const st = await new Promise<api.StatusResponse>((resolve, reject) => client.status({}, (e, r) => (e ? reject(e) : resolve(r!))));
    assert.equal(st.revision, 2n, 'the refused revision is not applied');
    assert.deepEqual(st.endpointIds, [52]);
    assert.deepEqual(st.listeners.map((l) => [l.proxyPort, l.direction, l.parser]), [[10001, api.TrafficDirection.INGRESS, 'http'], [10002, api.TrafficDirection.EGRESS, 'http']]);
    assert.equal(st.requestsDenied, 2n);
    assert.equal(await get('/public'), 403, 'revision 2 still enforced');
  });

  test('AccessLog streams a record per request and response', async () => {
    const call = client.accessLog({});
    const records: api.AccessLogRecord[] = [];
    const two = new Promise<void>((resolve) => call.on('data', (r: api.AccessLogRecord) => { records.push(r); if (records.length === 2) resolve(); }));
    call.on('error', () => {});
    await new Promise((r) => setImmediate(r));
    assert.equal(await get('/nope'), 403);
    await two;
    call.cancel();
    assert.deepEqual(records.map((r) => [r.type, r.verdict, r.http?.method, r.http?.url, r.http?.code, r.endpointId, r.sourceIdentity, r.destinationIdentity]), [
      ['request', api.Verdict.DENIED, 'GET', '/nope', 0, 52, 5001, 5002],
      ['response', api.Verdict.DENIED, 'GET', '/nope', 403, 52, 5001, 5002],
    ]);
  });

  test('reflection resolves the Proxy service from protoc\'s descriptors', async () => {
    const refl = createClient(reflectionV1.ServerReflectionClient, server.addresses[0]!);
    try {
      const resp = await new Promise<reflectionV1.ServerReflectionResponse>((resolve, reject) => {
        const call = refl.serverReflectionInfo();
        call.on('data', (r: reflectionV1.ServerReflectionResponse) => { resolve(r); call.end(); });
        call.on('error', reject);
        call.write(reflectionV1.ServerReflectionRequest.fromPartial({ fileContainingSymbol: 'cilium.proxy.v1.Proxy' }));
      });
      const files = resp.fileDescriptorResponse?.fileDescriptorProto ?? [];
      assert.ok(files.length >= 2, 'the file and google/protobuf/timestamp.proto');
      assert.ok(Buffer.from(files[0]!).includes(Buffer.from('cilium/proxy/v1/proxy.proto')));
    } finally {
      refl.close();
    }
  });
});
