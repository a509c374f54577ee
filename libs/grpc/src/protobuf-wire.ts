// The protobuf wire format by hand, for the few hot paths that read or write messages without
// ts-proto's objects: hubble-relay's GetFlowsResponse scanner, hubble-server's Monitor batch
// decoder, libs/flow's GetFlowsResponse encoder and the relay benchmark's pre-encoded flows.
// One reader and one writer, so that varints, tags, nested lengths and the checks on malformed
// bytes exist once; the field numbers stay with each codec, whose tests compare it with the
// generated code. Numbers are JavaScript numbers (exact below 2^53): no BigInt on these paths.
// Import it as `@cilium-ts/grpc/wire` (this file only, without grpc-js).

/** Wire types (the low 3 bits of a tag). */
export const WireType = { VARINT: 0, FIXED64: 1, DELIMITED: 2, FIXED32: 5 } as const;

/** Raised for bytes that are not well-formed protobuf. */
export class ProtoWireError extends Error {
  override readonly name = 'ProtoWireError';
  constructor(readonly reason: string) {
    super(`malformed protobuf: ${reason}`);
  }
}

/** A field's tag: (field number << 3) | wire type, as a number. */
export function protoTag(field: number, wireType: number): number {
  return field * 8 + wireType;
}

/** Bytes of the varint encoding of a non-negative number. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * WireReader reads the fields of buf[pos, end). One reader can be reused for many messages
 * (reset), so that a hot path allocates nothing per message. Every read checks the bounds and
 * throws ProtoWireError on truncated or malformed input.
 */
export class WireReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;

  /** reset points the reader at buf[start, end). */
  reset(buf: Uint8Array, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  /** Whether every byte up to `end` has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a number (exact below 2^53; larger values lose precision). */
  varint(): number {
    // Tags and lengths are mostly one or two bytes: those are read inline, the rest below.
    const buf = this.buf;
    const p = this.pos;
    if (p + 1 < this.end) {
      const b0 = buf[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
      const b1 = buf[p + 1]!;
      if (b1 < 0x80) {
        this.pos = p + 2;
        return (b0 & 0x7f) + b1 * 128;
      }
    }
    return this.varintSlow();
  }

  private varintSlow(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new ProtoWireError('truncated varint');
      const b = buf[pos++]!;
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
      mul *= 128;
    }
    throw new ProtoWireError('varint longer than 10 bytes');
  }

  /** An int64 varint (two's complement: a negative value takes 10 bytes); exact within ±2^53. */
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 10) return v;
    let big = 0n;
    for (let i = 9; i >= 0; i--) big = (big << 7n) | BigInt(this.buf[start + i]! & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  /** A little-endian fixed32 as an unsigned number. */
  fixed32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw new ProtoWireError('truncated fixed32');
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  /** The length of a length-delimited field, read at pos; returns the offset where the field ends. */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new ProtoWireError('length-delimited field runs past the end');
    return end;
  }

  /** Skips the value of a field of `wireType` (after its tag). */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint();
        return;
      case WireType.FIXED64:
        this.pos += 8;
        break;
      case WireType.DELIMITED:
        this.pos = this.delimited();
        return;
      case WireType.FIXED32:
        this.pos += 4;
        break;
      default:
        throw new ProtoWireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new ProtoWireError('fixed-size field runs past the end');
  }
}

/**
 * WireWriter writes a message into its buffer, fields in the order they are written (ts-proto
 * writes them in field-number order and omits proto3 defaults; writers that want its bytes do
 * the same). Nested messages reserve one length byte (begin) and are widened in place when
 * they turn out longer than 127 bytes (end). The buffer does not grow: callers check that a
 * message fits (or use the generated encoder for those that may not).
 */
export class WireWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** A copy of what was written since the last reset (pos 0). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** A non-negative integer as a varint (no tag). */
  varint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  /** A field's tag. */
  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** Starts a length-delimited field: its tag and one reserved length byte; returns where the payload starts. */
  begin(field: number): number {
    this.tag(field, WireType.DELIMITED);
    this.pos++;
    return this.pos;
  }

  /** Ends the length-delimited field started at `start`, widening its length prefix if needed. */
  end(start: number): void {
    const len = this.pos - start;
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.buf.copyWithin(start + extra, start, this.pos);
    const after = this.pos + extra;
    this.pos = start - 1;
    this.varint(len);
    this.pos = after;
  }

  /** A string field (omitted when empty, as proto3 does); ASCII is copied by character code. */
  string(field: number, s: string): void {
    if (s === '') return;
    this.stringAlways(field, s);
  }

  /** A string field even when empty (elements of repeated strings). */
  stringAlways(field: number, s: string): void {
    this.tag(field, WireType.DELIMITED);
    const n = s.length;
    const b = this.buf;
    if (n < 0x80) {
      const lenAt = this.pos++;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          this.pos = lenAt;
          this.utf8(s);
          return;
        }
        b[this.pos++] = c;
      }
      b[lenAt] = n;
      return;
    }
    this.utf8(s);
  }

  private utf8(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** A bytes field (omitted when empty). */
  bytesField(field: number, v: Uint8Array): void {
    if (v.length === 0) return;
    this.tag(field, WireType.DELIMITED);
    this.varint(v.length);
    this.raw(v);
  }

  /** Bytes copied as they are (e.g. a field encoded earlier). */
  raw(v: Uint8Array): void {
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A non-negative integer field (uint32/uint64/enum/positive int32; omitted when 0). */
  uint(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WireType.VARINT);
    this.varint(v);
  }

  /** A bool field (omitted when false). */
  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WireType.VARINT);
    this.buf[this.pos++] = 1;
  }

  /** A google.protobuf.Timestamp field from non-negative safe-integer seconds and nanos (written even when zero). */
  timestamp(field: number, seconds: number, nanos: number): void {
    const start = this.begin(field);
    this.uint(1, seconds);
    this.uint(2, nanos);
    this.end(start);
  }
}
