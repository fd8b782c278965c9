/**
 * Bounds-checked byte access for the TFLite reader.
 *
 * The flatbuffers TS runtime has no verifier and its ByteBuffer silently reads `undefined` (as 0)
 * past the end of the array, so a hostile file could steer the generated accessors anywhere. We
 * subclass ByteBuffer and check every primitive read the generated code performs (all of them go
 * through readUint8 / readUint16 / readInt32 / __string). A read outside the file throws a
 * ModelError naming the offset, so nothing is ever read or allocated from an unchecked offset.
 *
 * The bytes come from a ByteSource: either an in-memory array or a file read in pages on demand,
 * so opening a large model touches only the pages that hold its structure, not its weights.
 */
import * as fs from 'node:fs';
import { ByteBuffer, Encoding } from 'flatbuffers';
import { ModelError } from '../../errors';

export interface ByteSource {
  readonly size: number;
  /** One byte; the caller has checked 0 <= offset < size. */
  u8(offset: number): number;
  /** A copy or view of [offset, offset + length); the caller has checked the range. */
  slice(offset: number, length: number): Uint8Array;
  close(): void;
}

export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  u8(offset: number): number {
    return this.bytes[offset];
  }
  slice(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
  close(): void {}
}

const PAGE_BITS = 16; // 64 KiB pages
const PAGE_SIZE = 1 << PAGE_BITS;
const MAX_PAGES = 256; // at most 16 MiB of cached pages

/** A file read lazily in 64 KiB pages with a small cache. Synchronous: flatbuffer access is. */
export class PagedFileSource implements ByteSource {
  private readonly pages = new Map<number, Uint8Array>();
  private fd: number | null;
  // The last page used: most reads are next to the previous one.
  private lastIndex = -1;
  private lastPage: Uint8Array = new Uint8Array(0);
  constructor(
    private readonly path: string,
    fd: number,
    readonly size: number,
  ) {
    this.fd = fd;
  }

  static open(filePath: string): PagedFileSource {
    let fd: number;
    try {
      fd = fs.openSync(filePath, 'r');
    } catch (e) {
      throw ioError(filePath, e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new ModelError('io', `'${filePath}' is not a regular file.`);
      return new PagedFileSource(filePath, fd, st.size);
    } catch (e) {
      fs.closeSync(fd);
      if (e instanceof ModelError) throw e;
      throw ioError(filePath, e);
    }
  }

  private page(index: number): Uint8Array {
    let p = this.pages.get(index);
    if (p) return p;
    if (this.fd === null) throw new ModelError('io', `'${this.path}' was closed while it was being read.`);
    const start = index * PAGE_SIZE;
    const len = Math.min(PAGE_SIZE, this.size - start);
    p = new Uint8Array(len);
    let got = 0;
    try {
      while (got < len) {
        const n = fs.readSync(this.fd, p, got, len - got, start + got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      throw ioError(this.path, e);
    }
    if (got < len) throw new ModelError('truncated', `'${this.path}' became shorter while it was being read.`);
    if (this.pages.size >= MAX_PAGES) {
      // Evict the oldest page (Map keeps insertion order): structure reads are mostly local.
      const first = this.pages.keys().next().value as number;
      this.pages.delete(first);
    }
    this.pages.set(index, p);
    return p;
  }

  u8(offset: number): number {
    const index = Math.floor(offset / PAGE_SIZE);
    if (index !== this.lastIndex) {
      this.lastPage = this.page(index);
      this.lastIndex = index;
    }
    return this.lastPage[offset - index * PAGE_SIZE];
  }

  slice(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const p = this.page(Math.floor(pos / PAGE_SIZE));
      const inPage = pos % PAGE_SIZE;
      const n = Math.min(length - done, p.length - inPage);
      out.set(p.subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closing a read-only descriptor cannot lose data */
      }
      this.fd = null;
    }
    this.pages.clear();
    this.lastIndex = -1;
  }
}

export function ioError(filePath: string, e: unknown): ModelError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? String(e)})`;
  return new ModelError('io', `'${filePath}' ${why}.`, { cause: e });
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * A flatbuffers ByteBuffer whose every read is checked against the source size. Only the read
 * side is supported; the reader never writes.
 */
export class SafeByteBuffer extends ByteBuffer {
  readonly src: ByteSource;
  private readonly n: number;

  constructor(src: ByteSource) {
    super(new Uint8Array(0));
    this.src = src;
    this.n = src.size;
  }

  override capacity(): number {
    return this.n;
  }

  override bytes(): Uint8Array {
    // The generated *Array() helpers would view the raw array; the reader must not use them.
    throw new Error('SafeByteBuffer.bytes() is not available');
  }

  check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.n) {
      throw outOfRange(offset, length, this.n);
    }
  }

  override readUint8(offset: number): number {
    if (!(offset >= 0 && offset < this.n)) throw outOfRange(offset, 1, this.n);
    return this.src.u8(offset);
  }

  override readUint16(offset: number): number {
    if (!(offset >= 0 && offset + 2 <= this.n)) throw outOfRange(offset, 2, this.n);
    return this.src.u8(offset) | (this.src.u8(offset + 1) << 8);
  }

  override readInt32(offset: number): number {
    if (!(offset >= 0 && offset + 4 <= this.n)) throw outOfRange(offset, 4, this.n);
    const s = this.src;
    return s.u8(offset) | (s.u8(offset + 1) << 8) | (s.u8(offset + 2) << 16) | (s.u8(offset + 3) << 24);
  }

  override __string(offset: number, optEncoding?: Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    this.check(start + 4, length + 1); // + the terminating NUL every flatbuffer string has
    const bytes = this.src.slice(start + 4, length);
    if (optEncoding === Encoding.UTF8_BYTES) return bytes;
    return decoder.decode(bytes);
  }

  override __vector_len(offset: number): number {
    const start = offset + this.readInt32(offset);
    const len = this.readInt32(start);
    // Every element takes at least one byte, so a sane length fits in what is left of the file.
    if (len < 0 || start + 4 + len > this.n) {
      throw new ModelError(
        len < 0 ? 'corrupt' : 'truncated',
        `The TFLite file is corrupt or truncated: a vector at byte ${start} claims ${len >>> 0} elements, more than the ${this.n}-byte file can hold.`,
      );
    }
    return len;
  }

  /** Start of a vector's elements and its length, with the whole extent checked. */
  vectorExtent(fieldPos: number, elemSize: number): { start: number; length: number } {
    const start = fieldPos + this.readInt32(fieldPos);
    const length = this.readInt32(start);
    if (length < 0 || !Number.isSafeInteger(start + 4 + length * elemSize) || start + 4 + length * elemSize > this.n) {
      throw new ModelError(
        length < 0 ? 'corrupt' : 'truncated',
        `The TFLite file is corrupt or truncated: a vector at byte ${start} of ${length >>> 0} x ${elemSize}-byte elements runs past the end of the ${this.n}-byte file.`,
      );
    }
    return { start: start + 4, length };
  }
}

function outOfRange(offset: number, length: number, size: number): ModelError {
  if (offset >= size || offset + length > size) {
    return new ModelError(
      'truncated',
      `The TFLite file is truncated or corrupt: it refers to ${length} byte(s) at offset ${offset}, past the end of the ${size}-byte file.`,
    );
  }
  return new ModelError('corrupt', `The TFLite file is corrupt: it refers to an invalid offset (${offset}).`);
}
