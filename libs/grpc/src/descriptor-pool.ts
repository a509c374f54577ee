// An index over a protoc descriptor set (FileDescriptorSet): files by name, the file
// defining each fully-qualified symbol, and extensions. Keeps each file's serialized
// FileDescriptorProto exactly as protoc wrote it, for gRPC server reflection.
import { readFileSync } from 'node:fs';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  FileDescriptorProto,
  type FieldDescriptorProto,
} from 'ts-proto-descriptors';

/** One file of the set: its decoded form and its bytes as protoc produced them. */
export interface PoolFile {
  readonly name: string;
  readonly proto: FileDescriptorProto;
  readonly bytes: Uint8Array;
}

/** A descriptor set that cannot be read or is not a FileDescriptorSet. */
export class DescriptorSetError extends Error {
  readonly path: string | undefined;

  constructor(message: string, options?: { path?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'DescriptorSetError';
    this.path = options?.path;
  }
}

const FILE_FIELD = 1; // FileDescriptorSet.file

/** Splits a serialized FileDescriptorSet into the raw bytes of each FileDescriptorProto. */
export function splitDescriptorSet(set: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(set);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === FILE_FIELD && wireType === WireType.LengthDelimited) files.push(reader.bytes().slice());
    else reader.skip(wireType);
  }
  return files;
}

/** Files, symbols and extensions of a descriptor set. */
export class DescriptorPool {
  private readonly files = new Map<string, PoolFile>();
  private readonly symbols = new Map<string, string>();
  private readonly messages = new Set<string>();
  private readonly services: string[] = [];
  private readonly extensions = new Map<string, string>();
  private readonly extensionNumbers = new Map<string, number[]>();

  /** Builds the pool from serialized FileDescriptorSet bytes. */
  constructor(set: Uint8Array) {
    for (const bytes of splitDescriptorSet(set)) {
      const proto = FileDescriptorProto.decode(bytes);
      if (this.files.has(proto.name)) continue;
      this.files.set(proto.name, { name: proto.name, proto, bytes });
      this.indexFile(proto);
    }
    for (const file of this.files.values()) {
      for (const dep of file.proto.dependency) {
        if (!this.files.has(dep)) {
          throw new DescriptorSetError(
            `descriptor set is incomplete: ${file.name} imports ${dep}, which it does not contain; generate it with protoc --include_imports`,
          );
        }
      }
    }
  }

  /** Reads a descriptor set file (e.g. libs/api/descriptors/all.binpb). */
  static fromFile(path: string): DescriptorPool {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new DescriptorSetError(
        `cannot read descriptor set ${path}: ${(err as Error).message}; run npm run build -w @cilium-ts/api to generate it`,
        { path, cause: err },
      );
    }
    try {
      return new DescriptorPool(bytes);
    } catch (err) {
      if (err instanceof DescriptorSetError) throw err;
      throw new DescriptorSetError(`cannot decode descriptor set ${path}: ${(err as Error).message}`, { path, cause: err });
    }
  }

  /** Names of all files, in set order. */
  fileNames(): string[] {
    return [...this.files.keys()];
  }

  /** Fully-qualified names of every service defined in the set. */
  serviceNames(): string[] {
    return [...this.services];
  }

  /** The file named `name`, if present. */
  file(name: string): PoolFile | undefined {
    return this.files.get(name);
  }

  /** The file defining a fully-qualified symbol (leading dot optional), if any. */
  fileContainingSymbol(symbol: string): PoolFile | undefined {
    const name = this.symbols.get(symbol.replace(/^\./, ''));
    return name === undefined ? undefined : this.files.get(name);
  }

  /** Whether a fully-qualified message type exists. */
  hasMessage(type: string): boolean {
    return this.messages.has(type.replace(/^\./, ''));
  }

  /** The file defining extension `number` of message `type`, if any. */
  fileContainingExtension(type: string, number: number): PoolFile | undefined {
    const name = this.extensions.get(`${type.replace(/^\./, '')}#${number}`);
    return name === undefined ? undefined : this.files.get(name);
  }

  /** The extension numbers defined for message `type` (sorted). */
  extensionNumbersOf(type: string): number[] {
    return [...(this.extensionNumbers.get(type.replace(/^\./, '')) ?? [])].sort((a, b) => a - b);
  }

  /**
   * The file followed by its transitive imports, breadth-first, each once; files listed
   * in `skip` are left out, except the requested file itself.
   */
  withDependencies(file: PoolFile, skip: ReadonlySet<string> = new Set()): PoolFile[] {
    const out: PoolFile[] = [file];
    const visited = new Set([file.name]);
    const queue = [...file.proto.dependency];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (visited.has(name)) continue;
      visited.add(name);
      const dep = this.files.get(name)!;
      if (!skip.has(name)) out.push(dep);
      queue.push(...dep.proto.dependency);
    }
    return out;
  }

  private define(symbol: string, file: string): void {
    if (!this.symbols.has(symbol)) this.symbols.set(symbol, file);
  }

  private indexFile(file: FileDescriptorProto): void {
    const prefix = file.package ? `${file.package}.` : '';
    for (const msg of file.messageType) this.indexMessage(msg, prefix, file.name);
    for (const en of file.enumType) this.indexEnum(en, prefix, file.name);
    for (const ext of file.extension) this.indexExtension(ext, prefix, file.name);
    for (const svc of file.service) {
      const full = `${prefix}${svc.name}`;
      this.define(full, file.name);
      this.services.push(full);
      for (const m of svc.method) this.define(`${full}.${m.name}`, file.name);
    }
  }

  private indexMessage(msg: DescriptorProto, prefix: string, fileName: string): void {
    const full = `${prefix}${msg.name}`;
    this.define(full, fileName);
    this.messages.add(full);
    for (const f of msg.field) this.define(`${full}.${f.name}`, fileName);
    for (const o of msg.oneofDecl) this.define(`${full}.${o.name}`, fileName);
    for (const nested of msg.nestedType) this.indexMessage(nested, `${full}.`, fileName);
    for (const en of msg.enumType) this.indexEnum(en, `${full}.`, fileName);
    for (const ext of msg.extension) this.indexExtension(ext, `${full}.`, fileName);
  }

  private indexEnum(en: EnumDescriptorProto, prefix: string, fileName: string): void {
    this.define(`${prefix}${en.name}`, fileName);
    // Enum values are scoped to the enum's parent, as in C++.
    for (const v of en.value) this.define(`${prefix}${v.name}`, fileName);
  }

  private indexExtension(ext: FieldDescriptorProto, prefix: string, fileName: string): void {
    this.define(`${prefix}${ext.name}`, fileName);
    const extendee = ext.extendee.replace(/^\./, '');
    this.extensions.set(`${extendee}#${ext.number}`, fileName);
    const numbers = this.extensionNumbers.get(extendee) ?? [];
    numbers.push(ext.number);
    this.extensionNumbers.set(extendee, numbers);
  }
}
