/**
 * Reading files a piece at a time, so a large data file is never held whole in memory:
 * positional reads for plain files, and a sequential reader for gzip streams.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { DataError } from './errors';

export interface ByteSource {
  /** Exactly `length` bytes at `offset` (offsets must not go backwards for gzip sources). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Size in bytes when known (plain files). */
  readonly size?: number;
  close(): Promise<void>;
}

function ioError(file: string, e: unknown): DataError {
  return new DataError('io', `Cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
}

/** A read-only file descriptor, or a DataError saying why the file cannot be read. */
function openForReading(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw ioError(file, e);
  }
}

/** Reads up to this size are one blocking call; larger ones go through the thread pool. */
const BLOCKING_READ_BYTES = 1 << 16;

/**
 * Random access to a plain file. Opening, stat and small reads (headers, single samples) are
 * blocking calls of microseconds, where each async step waits on the thread pool and then the
 * event loop; large reads stay async.
 */
export async function openFileSource(file: string): Promise<ByteSource> {
  const fd = openForReading(file);
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (e) {
    fs.closeSync(fd);
    throw ioError(file, e);
  }
  const readAt = (buf: Uint8Array, at: number, length: number, position: number): Promise<number> | number =>
    length <= BLOCKING_READ_BYTES
      ? fs.readSync(fd, buf, at, length, position)
      : new Promise((resolve, reject) => fs.read(fd, buf, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
  let closed = false;
  return {
    size,
    async read(offset, length) {
      if (offset + length > size) {
        throw new DataError('bad-file', `${file} is truncated: needs bytes ${offset}..${offset + length} but has ${size}`, { file });
      }
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        let bytesRead: number;
        try {
          bytesRead = await readAt(buf, got, length - got, offset + got);
        } catch (e) {
          throw ioError(file, e);
        }
        if (bytesRead === 0) throw new DataError('bad-file', `${file} ended early at byte ${offset + got}`, { file });
        got += bytesRead;
      }
      return buf;
    },
    async close() {
      if (closed) return;
      closed = true;
      try { fs.closeSync(fd); } catch { /* already gone */ }
    },
  };
}

/** Compressed bytes read per block for gzip sources. */
const GZIP_BLOCK_BYTES = 1 << 18;

/**
 * Sequential access to the inflated content of a gzip file. The compressed blocks are read with
 * blocking calls, so inflating (in the thread pool) starts as soon as the source is opened, while
 * the caller goes on with other work, instead of after a file read's round trip.
 */
export function openGzipSource(file: string): ByteSource {
  const fd = openForReading(file);
  let fdOpen = true;
  const closeFd = (): void => { if (fdOpen) { fdOpen = false; fs.closeSync(fd); } };
  function* blocks(): Generator<Buffer> {
    try {
      for (let at = 0; ; at += GZIP_BLOCK_BYTES) {
        const b = Buffer.allocUnsafe(GZIP_BLOCK_BYTES);
        const n = fs.readSync(fd, b, 0, GZIP_BLOCK_BYTES, at);
        if (n === 0) return;
        yield n === GZIP_BLOCK_BYTES ? b : b.subarray(0, n);
      }
    } finally {
      closeFd();
    }
  }
  const input = Readable.from(blocks(), { objectMode: false, highWaterMark: GZIP_BLOCK_BYTES });
  const gunzip = zlib.createGunzip({ chunkSize: GZIP_BLOCK_BYTES });
  const stream = input.pipe(gunzip);
  input.on('error', (e) => gunzip.destroy(e));
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffered: Buffer[] = [];
  let bufferedLen = 0;
  let pos = 0; // stream offset of the first buffered byte
  let done = false;
  const pull = async (): Promise<boolean> => {
    if (done) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code && !code.startsWith('Z_')) throw ioError(file, e); // reading failed, not inflating
      throw new DataError('bad-file', `${file} is not a valid gzip stream: ${(e as Error).message}`, { file, cause: e });
    }
    if (r.done) { done = true; return false; }
    buffered.push(r.value);
    bufferedLen += r.value.length;
    return true;
  };
  return {
    async read(offset, length) {
      if (offset < pos) throw new Error(`gzip source ${file} cannot seek backwards (${offset} < ${pos})`);
      while (pos + bufferedLen < offset + length) {
        if (!(await pull())) {
          throw new DataError('bad-file', `${file} is truncated: needs inflated bytes up to ${offset + length} but has ${pos + bufferedLen}`, { file });
        }
        // drop chunks entirely before the requested offset to keep memory bounded
        while (buffered.length && pos + buffered[0].length <= offset) {
          pos += buffered[0].length;
          bufferedLen -= buffered[0].length;
          buffered.shift();
        }
      }
      const all = buffered.length === 1 ? buffered[0] : Buffer.concat(buffered, bufferedLen);
      buffered = [all];
      const start = offset - pos;
      const out = new Uint8Array(length);
      out.set(all.subarray(start, start + length));
      // keep only what lies beyond this read
      const rest = all.subarray(start + length);
      pos = offset + length;
      buffered = rest.length ? [rest] : [];
      bufferedLen = rest.length;
      return out;
    },
    async close() {
      stream.destroy();
      input.destroy();
      closeFd();
    },
  };
}

/** True when the file starts with the gzip magic bytes (two bytes: one blocking read). */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = new Uint8Array(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a whole file, refusing files above `maxBytes`. */
export async function readWholeFile(file: string, maxBytes: number): Promise<Uint8Array> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (e) {
    throw ioError(file, e);
  }
  if (st.size > maxBytes) {
    throw new DataError('too-large', `${file} is ${st.size} bytes, above the ${maxBytes}-byte limit for files read whole`, { file });
  }
  try {
    return new Uint8Array(await fs.promises.readFile(file));
  } catch (e) {
    throw ioError(file, e);
  }
}
