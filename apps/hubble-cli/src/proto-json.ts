import { readFileSync } from 'node:fs';
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSetPath } from '@cilium-ts/api';

/** ProtoJsonError says a message could not be converted to or from proto-JSON. */
export class ProtoJsonError extends Error {
  override readonly name = 'ProtoJsonError';
  constructor(readonly typeName: string, reason: string, options?: { cause?: unknown }) {
    super(`proto-JSON conversion of ${typeName} failed: ${reason}`, options);
  }
}

let registry: Registry | undefined;

function messageDesc(typeName: string): DescMessage {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath())));
  const desc = registry.getMessage(typeName);
  if (!desc) throw new ProtoJsonError(typeName, `the type is not in ${descriptorSetPath()}; rebuild @cilium-ts/api`);
  return desc;
}

/** Encoder is the `encode` half of a ts-proto message namespace. */
export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Decoder is the `decode` half of a ts-proto message namespace. */
export interface Decoder<T> {
  decode(input: Uint8Array): T;
}

/**
 * toProtoJson converts a ts-proto message to the JSON that Go's protojson produces with proto
 * field names (`IP`, `l4`, `node_name`, `is_reply`), enums by name, 64-bit integers as strings,
 * wrappers as bare values and Timestamps as RFC3339 with 0/3/6/9 fraction digits. It goes through
 * the wire format and the protoc descriptor set, so it is exact for every field.
 */
export function toProtoJson<T>(typeName: string, codec: Encoder<T>, message: T): JsonValue {
  const desc = messageDesc(typeName);
  const bytes = codec.encode(message).finish();
  return toJson(desc, fromBinary(desc, bytes), { useProtoFieldName: true });
}

/** fromProtoJson parses proto-JSON (proto or lowerCamel names) into a ts-proto message. */
export function fromProtoJson<T>(typeName: string, codec: Decoder<T>, json: JsonValue): T {
  const desc = messageDesc(typeName);
  try {
    return codec.decode(toBinary(desc, fromJson(desc, json)));
  } catch (err) {
    throw new ProtoJsonError(typeName, (err as Error).message, { cause: err });
  }
}

/** goJson serialises like Go's encoding/json: compact, with <, >, &, U+2028 and U+2029 escaped. */
export function goJson(value: JsonValue, indent?: string): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
