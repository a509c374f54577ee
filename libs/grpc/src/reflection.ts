// gRPC server reflection (grpc.reflection.v1 and v1alpha) answered from a protoc
// descriptor set, so that clients in any language (grpcurl, grpc-go) see exactly the
// FileDescriptorProtos protoc produced, well-known types included.
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { reflectionV1, reflectionV1alpha } from '@cilium-ts/api';
import type { DescriptorPool, PoolFile } from './descriptor-pool.js';

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

/** Answers reflection requests for one server: its services and the pool's files. */
export class ReflectionResponder {
  /**
   * @param pool the descriptor set to answer from
   * @param serviceNames the fully-qualified services this server serves (list_services)
   */
  constructor(
    private readonly pool: DescriptorPool,
    private readonly serviceNames: () => readonly string[],
  ) {}

  /**
   * Answers one request. `sent` holds the files already sent on this stream: like
   * grpc-go, the requested file is always sent, its dependencies only once per stream.
   */
  answer(req: Request, sent: Set<string>): Response {
    const base = { validHost: req.host, originalRequest: req };
    if (req.listServices !== undefined) {
      const names = [...this.serviceNames()].sort();
      return reflectionV1.ServerReflectionResponse.fromPartial({
        ...base,
        listServicesResponse: { service: names.map((name) => ({ name })) },
      });
    }
    if (req.fileByFilename !== undefined) {
      return this.files(base, this.pool.file(req.fileByFilename), sent, `file "${req.fileByFilename}" not found`);
    }
    if (req.fileContainingSymbol !== undefined) {
      return this.files(base, this.pool.fileContainingSymbol(req.fileContainingSymbol), sent,
        `symbol "${req.fileContainingSymbol}" not found`);
    }
    if (req.fileContainingExtension !== undefined) {
      const { containingType, extensionNumber } = req.fileContainingExtension;
      return this.files(base, this.pool.fileContainingExtension(containingType, extensionNumber), sent,
        `extension ${extensionNumber} of "${containingType}" not found`);
    }
    if (req.allExtensionNumbersOfType !== undefined) {
      const type = req.allExtensionNumbersOfType;
      if (!this.pool.hasMessage(type)) return error(base, status.NOT_FOUND, `type "${type}" not found`);
      return reflectionV1.ServerReflectionResponse.fromPartial({
        ...base,
        allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: this.pool.extensionNumbersOf(type) },
      });
    }
    return error(base, status.INVALID_ARGUMENT, 'reflection request names no known query');
  }

  /** The handler of ServerReflectionInfo (same wire shape in v1 and v1alpha). */
  handleStream(call: ServerDuplexStream<Request, Response>): void {
    const sent = new Set<string>();
    call.on('data', (req: Request) => {
      if (!call.writableEnded) call.write(this.answer(req, sent));
    });
    call.on('end', () => {
      if (!call.writableEnded) call.end();
    });
  }

  /** Handlers for grpc.reflection.v1.ServerReflection. */
  v1Implementation(): reflectionV1.ServerReflectionServer {
    return { serverReflectionInfo: (call) => this.handleStream(call) };
  }

  /** Handlers for grpc.reflection.v1alpha.ServerReflection. */
  v1alphaImplementation(): reflectionV1alpha.ServerReflectionServer {
    return { serverReflectionInfo: (call) => this.handleStream(call) };
  }

  private files(base: Pick<Response, 'validHost' | 'originalRequest'>, file: PoolFile | undefined, sent: Set<string>, notFound: string): Response {
    if (!file) return error(base, status.NOT_FOUND, notFound);
    const files = this.pool.withDependencies(file, sent);
    for (const f of files) sent.add(f.name);
    return reflectionV1.ServerReflectionResponse.fromPartial({
      ...base,
      fileDescriptorResponse: { fileDescriptorProto: files.map((f) => Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength)) },
    });
  }
}

function error(base: Pick<Response, 'validHost' | 'originalRequest'>, code: status, message: string): Response {
  return reflectionV1.ServerReflectionResponse.fromPartial({
    ...base,
    errorResponse: { errorCode: code, errorMessage: message },
  });
}

/** Fully-qualified names of the reflection services. */
export const REFLECTION_SERVICE_NAMES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;
