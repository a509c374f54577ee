// A two-method gRPC service without a .proto (raw bytes both ways) for the proxy's h2c
// tests: /test.Echo/Allowed and /test.Echo/Denied both echo their request.
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;
const unary = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

/** The service definition (paths /test.Echo/Allowed and /test.Echo/Denied). */
export const echoService = { allowed: unary('/test.Echo/Allowed'), denied: unary('/test.Echo/Denied') };

/** Starts the echo server on `address` (default 127.0.0.1, any port); `seen` collects the called paths. */
export async function startEchoServer(seen: string[], address = '127.0.0.1:0'): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const handler = (path: string): grpc.handleUnaryCall<Buffer, Buffer> => (call, cb) => {
    seen.push(path);
    cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
  };
  server.addService(echoService, { allowed: handler(echoService.allowed.path), denied: handler(echoService.denied.path) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

/** Calls one method of the echo service at host:port (deadline in ms); resolves with the reply or rejects with the ServiceError. */
export function callEcho(address: string, method: keyof typeof echoService, request: string, deadlineMs = 5000): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    (client as unknown as Record<string, (req: Buffer, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void>)[method]!(Buffer.from(request), { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.toString());
    });
  });
}
