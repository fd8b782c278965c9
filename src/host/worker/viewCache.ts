/**
 * The model worker's cache of what opening a model produces (summary and graph view, JSON-encoded),
 * kept in the extension's storage and keyed by the file's content hash. Opening a model again
 * reads a few megabytes instead of parsing the file and building the view.
 *
 * Lookup is cheap: an index entry per path remembers the size, mtime and content hash seen last;
 * when size and mtime still match, the hash is trusted. On a miss the model is opened as usual and
 * the hash is computed afterwards, off the path to the first view.
 *
 * Entries are derived data: any failure to read or write one is a miss, never an error.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bump when the cached summary or view changes shape; the worker bundle's own stamp covers code changes too. */
const FORMAT = 1;
/** Views kept (count and total bytes); the least recently used beyond either are deleted. */
const MAX_ENTRIES = 48;
const MAX_BYTES = 256 * 1024 * 1024;

export interface CachedOpen {
  /** JSON of the model summary. */
  summary: Uint8Array;
  /** JSON of the graph view, when the model had one. */
  graph?: Uint8Array;
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  hash: string;
}

/** Stamp of this code: a rebuilt worker never reads views an older build wrote. */
function codeStamp(): string {
  try {
    const s = fs.statSync(__filename);
    return `${FORMAT}-${s.size}-${Math.floor(s.mtimeMs)}`;
  } catch {
    return String(FORMAT);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.promises.writeFile(tmp, data);
  await fs.promises.rename(tmp, file);
}

/** An entry file: 4-byte summary length, summary JSON, graph JSON (absent when empty). */
function pack(open: CachedOpen): Uint8Array {
  const graph = open.graph ?? new Uint8Array(0);
  const out = new Uint8Array(4 + open.summary.length + graph.length);
  new DataView(out.buffer).setUint32(0, open.summary.length, true);
  out.set(open.summary, 4);
  out.set(graph, 4 + open.summary.length);
  return out;
}

function unpack(bytes: Uint8Array): CachedOpen | undefined {
  if (bytes.length < 4) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + n > bytes.length) return undefined;
  // Copies (a Uint8Array's slice, not a Buffer's), so each part owns its buffer and can be transferred on its own.
  const all = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const summary = all.slice(4, 4 + n);
  const graph = 4 + n < all.length ? all.slice(4 + n) : undefined;
  return { summary, ...(graph ? { graph } : {}) };
}

export class ViewCache {
  private readonly stamp = codeStamp();

  constructor(private readonly dir: string) {}

  private indexFile(modelPath: string): string {
    return path.join(this.dir, 'index', `${sha256(path.resolve(modelPath)).slice(0, 32)}.json`);
  }

  private entryFile(hash: string): string {
    return path.join(this.dir, `${hash}-${this.stamp}.view`);
  }

  /** The cached open of `modelPath` when the file is unchanged since it was stored. */
  async get(modelPath: string): Promise<CachedOpen | undefined> {
    try {
      const [stat, indexText] = await Promise.all([fs.promises.stat(modelPath), fs.promises.readFile(this.indexFile(modelPath), 'utf8')]);
      const index = JSON.parse(indexText) as IndexEntry;
      if (index.size !== stat.size || index.mtimeMs !== stat.mtimeMs || !/^[0-9a-f]{64}$/.test(index.hash)) return undefined;
      const file = this.entryFile(index.hash);
      const bytes = await fs.promises.readFile(file);
      // Touch it: eviction removes the least recently used.
      const now = new Date();
      void fs.promises.utimes(file, now, now).catch(() => undefined);
      return unpack(bytes);
    } catch {
      return undefined;
    }
  }

  /** Stores what opening `modelPath` produced; resolves when written (or given up). */
  async put(modelPath: string, open: CachedOpen): Promise<void> {
    try {
      const before = await fs.promises.stat(modelPath);
      const hash = await hashFile(modelPath);
      const after = await fs.promises.stat(modelPath);
      // Changed while it was read: the hash describes neither version.
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return;
      await fs.promises.mkdir(path.join(this.dir, 'index'), { recursive: true });
      const file = this.entryFile(hash);
      await writeAtomic(file, pack(open));
      const index: IndexEntry = { size: before.size, mtimeMs: before.mtimeMs, hash };
      await writeAtomic(this.indexFile(modelPath), JSON.stringify(index));
      await this.evict();
    } catch {
      // A cache that cannot be written is only a slower next open.
    }
  }

  private async evict(): Promise<void> {
    const names = (await fs.promises.readdir(this.dir)).filter((n) => n.endsWith('.view'));
    const entries = await Promise.all(names.map(async (n) => {
      const s = await fs.promises.stat(path.join(this.dir, n));
      return { n, t: s.mtimeMs, size: s.size };
    }));
    entries.sort((a, b) => b.t - a.t); // newest first
    let bytes = 0;
    for (const [i, e] of entries.entries()) {
      bytes += e.size;
      // The newest entry (the one just written) always stays.
      if (i > 0 && (i >= MAX_ENTRIES || bytes > MAX_BYTES)) await fs.promises.rm(path.join(this.dir, e.n), { force: true });
    }
  }
}
