import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { agent, descriptorSetPath, flow, observer, reflectionV1, reflectionV1alpha } from '@cilium-ts/api';
import { status } from '@grpc/grpc-js';
import { FileDescriptorProto } from 'ts-proto-descriptors';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { createClient } from './client.js';
import { splitDescriptorSet } from './descriptor-pool.js';
import { createServer, type GrpcServer } from './server.js';
import { memoryLogger } from '@cilium-ts/process/testing';
import { tempDir } from './testing/temp-dir.js';

type Req = reflectionV1.ServerReflectionRequest;
type Resp = reflectionV1.ServerReflectionResponse;
type ReflectionClient = reflectionV1.ServerReflectionClient | reflectionV1alpha.ServerReflectionClient;

const dir = tempDir('grpc-reflection');
let server: GrpcServer;

before(async () => {
  server = await createServer({
    component: 'agent',
    logger: memoryLogger().logger,
    addresses: [`unix://${join(dir.path, 'agent.sock')}`, '127.0.0.1:0'],
    services: [{ definition: agent.DaemonService, implementation: { status: async () => agent.StatusResponse.create() } }],
  });
});

after(async () => {
  await server?.shutdown({ timeoutMs: 2000 });
  dir.remove();
});

/** Sends every request on one reflection stream and collects the answers in order. */
function ask(client: ReflectionClient, requests: Partial<Req>[]): Promise<Resp[]> {
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo();
    const out: Resp[] = [];
    call.on('data', (r: Resp) => {
      out.push(r);
      if (out.length === requests.length) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(out));
    for (const r of requests) call.write(reflectionV1.ServerReflectionRequest.fromPartial(r));
  });
}

const protocRaw = new Map(
  splitDescriptorSet(readFileSync(descriptorSetPath())).map((b) => [FileDescriptorProto.decode(b).name, Buffer.from(b)]),
);

for (const [version, Client, address] of [
  ['v1', reflectionV1.ServerReflectionClient, () => server.addresses[0]!],
  ['v1alpha', reflectionV1alpha.ServerReflectionClient, () => server.addresses[1]!],
] as const) {
  describe(`reflection ${version}`, () => {
    let client: ReflectionClient;
    before(() => {
      client = createClient(Client, address());
    });
    after(() => client.close());

    test('list_services names every served service', async () => {
      const [resp] = await ask(client, [{ listServices: '*' }]);
      assert.deepEqual(resp?.listServicesResponse?.service.map((s) => s.name), [
        'cilium.agent.v1.Daemon',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
      assert.equal(resp?.originalRequest?.listServices, '*');
    });

    test('file_containing_symbol returns the file and its transitive closure, resolvable by name', async () => {
      const resps = await ask(client, [
        { fileContainingSymbol: 'flow.Flow' },
        { fileContainingSymbol: 'observer.Observer' },
      ]);
      const files = resps.flatMap((r) => r.fileDescriptorResponse?.fileDescriptorProto ?? []);
      const decoded = files.map((b) => FileDescriptorProto.decode(b));
      const names = new Set(decoded.map((f) => f.name));
      assert.equal(decoded[0]?.name, 'flow/flow.proto');
      assert.equal(FileDescriptorProto.decode(resps[1]!.fileDescriptorResponse!.fileDescriptorProto[0]!).name, 'observer/observer.proto');
      for (const wkt of ['google/protobuf/timestamp.proto', 'google/protobuf/wrappers.proto', 'relay/relay.proto']) {
        assert.ok(names.has(wkt), `closure includes ${wkt}: ${[...names].join(', ')}`);
      }
      for (const f of decoded) {
        for (const dep of f.dependency) assert.ok(names.has(dep), `${f.name} imports ${dep}, which was sent`);
      }
      // The bytes are exactly protoc's.
      for (const [i, f] of decoded.entries()) assert.ok(Buffer.from(files[i]!).equals(protocRaw.get(f.name)!), f.name);
      // Dependencies go out once per stream: the second answer does not repeat flow.proto.
      const second = resps[1]!.fileDescriptorResponse!.fileDescriptorProto.map((b) => FileDescriptorProto.decode(b).name);
      assert.ok(!second.includes('flow/flow.proto'));
      assert.ok(second.includes('relay/relay.proto'));
    });

    test('protoc itself decodes a GetFlowsResponse with only the files reflection returned', async () => {
      const [resp] = await ask(client, [{ fileContainingSymbol: 'observer.Observer' }]);
      const files = resp!.fileDescriptorResponse!.fileDescriptorProto;
      const setFile = join(dir.path, `from-reflection-${version}.binpb`);
      // Frame the raw bytes as FileDescriptorSet.file (field 1). Re-encoding decoded
      // descriptors would not do: ts-proto-descriptors drops oneof_index = 0.
      const writer = new BinaryWriter();
      for (const b of files) writer.uint32(0x0a).bytes(b);
      writeFileSync(setFile, writer.finish());
      const msg = observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({
        flow: { time: { seconds: 1n, nanos: 5 }, isReply: false, verdict: flow.Verdict.DROPPED },
        nodeName: 'node-1',
      })).finish();
      const r = spawnSync('protoc', [`--descriptor_set_in=${setFile}`, '--decode=observer.GetFlowsResponse', 'observer/observer.proto'], {
        input: msg,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /verdict: DROPPED/);
      assert.match(r.stdout, /is_reply \{\n\s*\}/);
      assert.match(r.stdout, /nanos: 5/);
      assert.match(r.stdout, /node_name: "node-1"/);
    });

    test('resolves methods, fields, nested messages, nested and top-level enums and enum values', async () => {
      const symbols: [string, string][] = [
        ['observer.Observer.GetFlows', 'observer/observer.proto'],
        ['.flow.Flow', 'flow/flow.proto'],
        ['flow.Flow.is_reply', 'flow/flow.proto'],
        ['flow.Verdict', 'flow/flow.proto'],
        ['flow.DROPPED', 'flow/flow.proto'],
        ['cilium.agent.v1.MetadataEvent.Kind', 'cilium/agent/v1/agent.proto'],
        ['cilium.agent.v1.MetadataEvent.SYNCED', 'cilium/agent/v1/agent.proto'],
        ['grpc.health.v1.HealthCheckResponse.ServingStatus', 'grpc/health/v1/health.proto'],
        ['google.protobuf.BoolValue', 'google/protobuf/wrappers.proto'],
        ['cilium.agent.v1.Daemon.Status', 'cilium/agent/v1/agent.proto'],
      ];
      const resps = await ask(client, symbols.map(([s]) => ({ fileContainingSymbol: s })));
      for (const [i, [symbol, file]] of symbols.entries()) {
        const first = resps[i]?.fileDescriptorResponse?.fileDescriptorProto[0];
        assert.ok(first, `${symbol}: ${JSON.stringify(resps[i]?.errorResponse)}`);
        assert.equal(FileDescriptorProto.decode(first).name, file, symbol);
      }
    });

    test('file_by_filename; NOT_FOUND for unknown files, symbols and extensions', async () => {
      const resps = await ask(client, [
        { fileByFilename: 'peer/peer.proto' },
        { fileByFilename: 'nope.proto' },
        { fileContainingSymbol: 'flow.NoSuchThing' },
        { fileContainingExtension: { containingType: 'flow.Flow', extensionNumber: 1234 } },
        { allExtensionNumbersOfType: 'flow.Flow' },
        { allExtensionNumbersOfType: 'flow.Nope' },
      ]);
      assert.equal(FileDescriptorProto.decode(resps[0]!.fileDescriptorResponse!.fileDescriptorProto[0]!).name, 'peer/peer.proto');
      for (const i of [1, 2, 3, 5]) assert.equal(resps[i]?.errorResponse?.errorCode, status.NOT_FOUND, JSON.stringify(resps[i]));
      assert.deepEqual(resps[4]?.allExtensionNumbersResponse, { baseTypeName: 'flow.Flow', extensionNumber: [] });
    });
  });
}
