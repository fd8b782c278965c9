/**
 * A minimal protobuf wire-format walker over a ByteSource. The reader uses it only for the
 * top-level containers (ModelProto, GraphProto, TensorProto, big nodes) so that big byte fields
 * can be recorded by position instead of being read; everything small goes to the generated
 * protobufjs decoders. Every length is checked against its enclosing message and the file size
 * before anything is read or allocated.
 */
import { Reader } from 'protobufjs/minimal';
import { ModelError } from '../../errors';
import type { ByteSource } from './source';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field; reused between calls to avoid garbage on 50,000-node graphs. */
export interface Field {
  num: number;
  wire: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the payload (after the length prefix for WIRE_LEN). */
  valStart: number;
  /** Offset just past the field. */
  end: number;
  /** The varint value for WIRE_VARINT (exact below 2^53). */
  value: number;
}

export function newField(): Field {
  return { num: 0, wire: 0, start: 0, valStart: 0, end: 0, value: 0 };
}

export class Walker {
  /** Position after the last varint read. */
  private p = 0;
  constructor(readonly src: ByteSource) {}

  truncated(pos: number, where: string, what: string): ModelError {
    return new ModelError('truncated', `Truncated ONNX file at byte ${pos} inside ${where}: ${what}, but the file ends at byte ${this.src.size}.`);
  }

  corrupt(pos: number, where: string, what: string): ModelError {
    return new ModelError('corrupt', `Corrupt ONNX file at byte ${pos} inside ${where}: ${what}.`);
  }

  /** Reads a varint starting at pos that must end by `limit`. */
  varint(pos: number, limit: number, where: string): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= limit) {
        if (limit >= this.src.size) throw this.truncated(pos, where, 'a number runs past the end');
        throw this.corrupt(pos, where, 'a number runs past the end of its enclosing message');
      }
      const b = this.src.byte(pos + i);
      value += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        this.p = pos + i + 1;
        return value;
      }
    }
    throw this.corrupt(pos, where, 'a number is longer than 10 bytes');
  }

  /** Reads the field at f.end (or `pos`) into f. */
  next(pos: number, limit: number, where: string, f: Field): Field {
    const tag = this.varint(pos, limit, where);
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    f.start = pos;
    f.num = num;
    f.wire = wire;
    f.value = 0;
    if (num === 0 || num > 536870911) throw this.corrupt(pos, where, `invalid field number ${num}`);
    let q = this.p;
    switch (wire) {
      case WIRE_VARINT:
        f.value = this.varint(q, limit, where);
        f.valStart = q;
        f.end = this.p;
        return f;
      case WIRE_I64:
      case WIRE_I32: {
        const n = wire === WIRE_I64 ? 8 : 4;
        this.checkRange(q, n, limit, where, `field ${num}`);
        f.valStart = q;
        f.end = q + n;
        return f;
      }
      case WIRE_LEN: {
        const len = this.varint(q, limit, where);
        q = this.p;
        this.checkRange(q, len, limit, where, `field ${num}`);
        f.valStart = q;
        f.end = q + len;
        return f;
      }
      default:
        throw this.corrupt(pos, where, `field ${num} has unsupported wire type ${wire}`);
    }
  }

  checkRange(pos: number, len: number, limit: number, where: string, what: string): void {
    if (pos + len <= limit) return;
    if (pos + len > this.src.size) throw this.truncated(pos, where, `${what} needs ${len} bytes`);
    throw this.corrupt(pos, where, `${what} runs ${pos + len - limit} bytes past the end of its enclosing message`);
  }

  /** Payload of a WIRE_LEN field as a UTF-8 string. */
  string(f: Field): string {
    return textDecoder.decode(this.src.view(f.valStart, f.end - f.valStart));
  }

  /** Bytes of the whole field (tag included), for re-decoding a subset of a message. */
  fieldBytes(f: Field): Uint8Array {
    return this.src.view(f.start, f.end - f.start);
  }

  payload(f: Field): Uint8Array {
    return this.src.view(f.valStart, f.end - f.valStart);
  }
}

const textDecoder = new TextDecoder('utf-8');

/**
 * Collects whole fields of one message so the generated decoder can decode the small ones in one
 * go: a protobuf message is the concatenation of its fields, in any order.
 */
export class FieldCollector {
  private parts: Uint8Array[] = [];
  private total = 0;

  add(bytes: Uint8Array): void {
    this.parts.push(new Uint8Array(bytes));
    this.total += bytes.length;
  }

  bytes(): Uint8Array {
    if (this.parts.length === 1) return this.parts[0];
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** The generated decoders' shape: decode(reader, length). */
export interface Decodable<T> {
  decode(reader: Reader | Uint8Array, length?: number): T;
}

/**
 * Decodes the payload of field `f` with one protobufjs Reader per backing buffer (no view or
 * reader allocated per message: this is the hot path for graphs with many nodes).
 */
export class RegionDecoder {
  private buf: Uint8Array | null = null;
  private reader: Reader | null = null;
  constructor(private readonly src: ByteSource) {}

  decode<T>(type: Decodable<T>, f: Field, where: string): T {
    const len = f.end - f.valStart;
    const { buf, at } = this.src.region(f.valStart, len);
    if (buf !== this.buf || !this.reader) {
      this.buf = buf;
      this.reader = Reader.create(buf);
    }
    const r = this.reader;
    r.pos = at;
    r.len = buf.length;
    try {
      return type.decode(r, len);
    } catch (e) {
      this.reader = null; // its state is undefined after a failure
      throw protobufError(e, where, f.valStart, len);
    }
  }
}

/**
 * Runs a generated decoder and turns protobufjs's errors into ModelErrors that say where the
 * message sits in the file.
 */
export function decodeWith<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, where: string, offset: number): T {
  try {
    return decode(bytes);
  } catch (e) {
    throw protobufError(e, where, offset, bytes.length);
  }
}

function protobufError(e: unknown, where: string, offset: number, length: number): ModelError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/max depth/i.test(msg) || (e instanceof RangeError && /call stack/i.test(msg))) {
    return new ModelError('too-large', `ONNX file nests messages too deeply inside ${where} (at byte ${offset}).`, { cause: e });
  }
  if (/index out of range/i.test(msg)) {
    return new ModelError('corrupt', `Corrupt ONNX file inside ${where} (bytes ${offset}..${offset + length}): a length runs past the end of its message.`, { cause: e });
  }
  return new ModelError('corrupt', `Corrupt ONNX file inside ${where} (bytes ${offset}..${offset + length}): ${msg}.`, { cause: e });
}
