/**
 * A small, bounded FlexBuffers decoder for custom-operator options (display only: the writer keeps
 * the original bytes). The flatbuffers package's flexbuffers.toObject() recurses without limit, so
 * a crafted buffer whose vectors point back at themselves would hang or blow the stack; this one
 * checks every offset and caps depth and total values.
 */
import type { Attribute, AttributeValue } from '../../model';

const MAX_DEPTH = 16;
const MAX_VALUES = 20_000;

class FlexError extends Error {}

type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };

class Reader {
  private readonly view: DataView;
  private values = 0;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private need(o: number, n: number): void {
    if (!Number.isSafeInteger(o) || o < 0 || o + n > this.b.length) throw new FlexError(`offset ${o} out of range`);
  }

  uint(o: number, w: number): number {
    this.need(o, w);
    switch (w) {
      case 1: return this.view.getUint8(o);
      case 2: return this.view.getUint16(o, true);
      case 4: return this.view.getUint32(o, true);
      case 8: {
        const v = this.view.getBigUint64(o, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FlexError('integer too large');
        return Number(v);
      }
    }
    throw new FlexError(`bad width ${w}`);
  }

  int(o: number, w: number): number {
    this.need(o, w);
    switch (w) {
      case 1: return this.view.getInt8(o);
      case 2: return this.view.getInt16(o, true);
      case 4: return this.view.getInt32(o, true);
      case 8: return Number(this.view.getBigInt64(o, true));
    }
    throw new FlexError(`bad width ${w}`);
  }

  float(o: number, w: number): number {
    this.need(o, w);
    if (w === 4) return this.view.getFloat32(o, true);
    if (w === 8) return this.view.getFloat64(o, true);
    throw new FlexError(`bad float width ${w}`);
  }

  indirect(o: number, w: number): number {
    const t = o - this.uint(o, w);
    this.need(t, 0);
    return t;
  }

  cstring(o: number): string {
    let e = o;
    while (e < this.b.length && this.b[e] !== 0) e++;
    if (e >= this.b.length) throw new FlexError('unterminated key');
    return new TextDecoder().decode(this.b.subarray(o, e));
  }

  value(o: number, parentWidth: number, packed: number, depth: number): Plain {
    if (++this.values > MAX_VALUES) throw new FlexError('too many values');
    if (depth > MAX_DEPTH) throw new FlexError('nested too deeply');
    const type = packed >> 2;
    const bw = 1 << (packed & 3);
    switch (type) {
      case 0: return null;
      case 1: return this.int(o, parentWidth);
      case 2: return this.uint(o, parentWidth);
      case 3: return this.float(o, parentWidth);
      case 26: return this.uint(o, parentWidth) !== 0;
      case 4: return this.cstring(this.indirect(o, parentWidth));
      case 5: {
        const t = this.indirect(o, parentWidth);
        const len = this.uint(t - bw, bw);
        this.need(t, len);
        return new TextDecoder().decode(this.b.subarray(t, t + len));
      }
      case 6: return this.int(this.indirect(o, parentWidth), bw);
      case 7: return this.uint(this.indirect(o, parentWidth), bw);
      case 8: return this.float(this.indirect(o, parentWidth), bw);
      case 9:
      case 10: {
        const t = this.indirect(o, parentWidth);
        const len = this.uint(t - bw, bw);
        this.need(t, len * bw + len);
        const items: Plain[] = [];
        for (let i = 0; i < len; i++) items.push(this.value(t + i * bw, bw, this.b[t + len * bw + i], depth + 1));
        if (type === 10) return items;
        const keysAt = t - 3 * bw;
        const keys = this.indirect(keysAt, bw);
        const kw = this.uint(t - 2 * bw, bw);
        this.need(keys, len * kw);
        const obj: { [k: string]: Plain } = {};
        for (let i = 0; i < len; i++) obj[this.cstring(this.indirect(keys + i * kw, kw))] = items[i];
        return obj;
      }
      case 11: case 12: case 13: case 14: case 15: case 36: {
        const t = this.indirect(o, parentWidth);
        const len = this.uint(t - bw, bw);
        this.need(t, len * bw);
        const elem = type === 36 ? 26 : type - 10; // INT, UINT, FLOAT, KEY, STRING, BOOL
        const items: Plain[] = [];
        for (let i = 0; i < len; i++) items.push(this.value(t + i * bw, bw, elem << 2, depth + 1));
        return items;
      }
      case 16: case 17: case 18: case 19: case 20: case 21: case 22: case 23: case 24: {
        const t = this.indirect(o, parentWidth);
        const n = Math.floor((type - 16) / 3) + 2;
        const elem = ((type - 16) % 3) + 1;
        this.need(t, n * bw);
        const items: Plain[] = [];
        for (let i = 0; i < n; i++) items.push(this.value(t + i * bw, bw, elem << 2, depth + 1));
        return items;
      }
      case 25: {
        const t = this.indirect(o, parentWidth);
        const len = this.uint(t - bw, bw);
        this.need(t, len);
        return len <= 64 ? Array.from(this.b.subarray(t, t + len)) : `(${len} bytes)`;
      }
    }
    throw new FlexError(`unknown value type ${type}`);
  }
}

/** The decoded root value, or undefined when the bytes are not a well-formed FlexBuffer. */
export function decodeFlexbuffer(bytes: Uint8Array): Plain | undefined {
  if (bytes.length < 3) return undefined;
  try {
    const r = new Reader(bytes);
    const bw = bytes[bytes.length - 1];
    if (bw !== 1 && bw !== 2 && bw !== 4 && bw !== 8) return undefined;
    const packed = bytes[bytes.length - 2];
    return r.value(bytes.length - 2 - bw, bw, packed, 0);
  } catch {
    return undefined;
  }
}

/** Attributes for a custom op's options when they decode to a FlexBuffer map. */
export function flexMapToAttributes(v: Plain | undefined): Attribute[] | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Attribute[] = [];
  for (const [name, x] of Object.entries(v)) out.push({ name, value: plainToAttr(x) });
  return out;
}

function plainToAttr(x: Plain): AttributeValue {
  if (typeof x === 'boolean') return { type: 'bool', value: x };
  if (typeof x === 'number') return Number.isInteger(x) ? { type: 'int', value: x } : { type: 'float', value: x };
  if (typeof x === 'string') return { type: 'string', value: x };
  if (Array.isArray(x)) {
    if (x.every((e) => typeof e === 'number')) {
      const nums = x as number[];
      return nums.every(Number.isInteger) ? { type: 'ints', value: nums } : { type: 'floats', value: nums };
    }
    if (x.every((e) => typeof e === 'string')) return { type: 'strings', value: x as string[] };
  }
  return { type: 'object', value: x };
}
