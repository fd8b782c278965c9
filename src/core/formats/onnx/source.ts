/**
 * Random access to a model's bytes for the wire walker: a file read through a sliding window of
 * positional reads (so a 1 GB model costs only the bytes of its structure), or a buffer in memory.
 */
import * as fs from 'node:fs';
import { ModelError } from '../../errors';

const WINDOW = 1 << 20;

export interface ByteSource {
  readonly size: number;
  /** The file the bytes come from, when they come from one. */
  readonly path?: string;
  /** True when views alias a buffer that outlives the model (in-memory input) and may be kept. */
  readonly viewsAreStable: boolean;
  byte(pos: number): number;
  /**
   * Bytes [offset, offset + length). The caller has already checked the range against `size`.
   * For files the view may alias a window that later reads replace: copy what you keep.
   */
  view(offset: number, length: number): Uint8Array;
  /**
   * Like view(), but without allocating a view: the backing buffer and where the range starts in
   * it (lets one protobufjs Reader decode many small messages of the same window).
   */
  region(offset: number, length: number): { buf: Uint8Array; at: number };
  close(): void;
}

export class MemorySource implements ByteSource {
  readonly size: number;
  readonly viewsAreStable = true;
  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  byte(pos: number): number {
    return this.bytes[pos];
  }
  view(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
  region(offset: number): { buf: Uint8Array; at: number } {
    return { buf: this.bytes, at: offset };
  }
  close(): void {}
}

export class FileSource implements ByteSource {
  readonly viewsAreStable = false;
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  private fd: number | null;
  /** Bytes read from disk so far (the benchmark reports it). */
  bytesRead = 0;

  constructor(readonly path: string, readonly size: number, fd: number) {
    this.fd = fd;
  }

  static open(path: string): FileSource {
    const fd = openForReading(path);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new ModelError('io', `'${path}' is not a regular file.`);
      return new FileSource(path, st.size, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e instanceof ModelError ? e : ioError(path, e);
    }
  }

  byte(pos: number): number {
    const i = pos - this.base;
    if (i >= 0 && i < this.buf.length) return this.buf[i];
    this.fill(pos, 1);
    return this.buf[pos - this.base];
  }

  view(offset: number, length: number): Uint8Array {
    const i = offset - this.base;
    if (i >= 0 && i + length <= this.buf.length) return this.buf.subarray(i, i + length);
    if (length > WINDOW) return this.readExact(offset, length);
    this.fill(offset, length);
    return this.buf.subarray(offset - this.base, offset - this.base + length);
  }

  region(offset: number, length: number): { buf: Uint8Array; at: number } {
    const i = offset - this.base;
    if (i >= 0 && i + length <= this.buf.length) return { buf: this.buf, at: i };
    if (length > WINDOW) return { buf: this.readExact(offset, length), at: 0 };
    this.fill(offset, length);
    return { buf: this.buf, at: offset - this.base };
  }

  /** A fresh buffer every time, so views handed out earlier stay valid. */
  private fill(offset: number, need: number): void {
    const len = Math.min(Math.max(WINDOW, need), this.size - offset);
    this.buf = this.readExact(offset, len);
    this.base = offset;
  }

  private readExact(offset: number, length: number): Uint8Array {
    if (this.fd === null) throw new ModelError('io', `'${this.path}' was closed while reading.`);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, out, done, length - done, offset + done);
      } catch (e) {
        throw ioError(this.path, e);
      }
      if (n === 0) throw new ModelError('io', `'${this.path}' got shorter while it was being read (at byte ${offset + done}).`);
      done += n;
    }
    this.bytesRead += length;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  close(): void {
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* already gone */ }
      this.fd = null;
    }
    this.buf = new Uint8Array(0);
  }
}

/** A read-only file descriptor, or a ModelError that says why the file cannot be opened. */
function openForReading(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (e) {
    throw ioError(path, e);
  }
}

export function ioError(path: string, e: unknown): ModelError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder'
    : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? String(e)})`;
  return new ModelError('io', `'${path}' ${why}.`, { cause: e });
}

/** Reads a byte range of a file in one go (lazy tensor data). */
export function readFileRange(path: string, offset: number, length: number): Uint8Array {
  const fd = openForReading(path);
  try {
    const size = fs.fstatSync(fd).size;
    if (offset + length > size) {
      throw new ModelError('io', `'${path}' is shorter than when the model was opened (needs bytes ${offset}..${offset + length}, has ${size}); reopen the model.`);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n === 0) throw new ModelError('io', `'${path}' ended early at byte ${offset + done}.`);
      done += n;
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw e instanceof ModelError ? e : ioError(path, e);
  } finally {
    fs.closeSync(fd);
  }
}
