/**
 * A small content-addressed cache for derived results (sensitivity): a key is the hash of what
 * the result depends on (the bytes of the model and the data, and the options), so reopening the
 * same model with the same data finds it, and any change misses. Entries are written to a
 * temporary file and renamed: a cancelled or failed run never leaves a partial entry.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** ~/.cache/quantlens, or $XDG_CACHE_HOME/quantlens. */
export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'quantlens');
}

/** SHA-256 of a file's bytes, read in chunks. */
export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHA-256 of a file, or of a folder's files (relative names and contents, in sorted order). */
export async function hashPath(p: string): Promise<string> {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return hashFile(p);
  const h = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full, `${rel}${e.name}/`);
      else if (e.isFile()) h.update(`${rel}${e.name}\0${await hashFile(full)}\0`);
    }
  };
  await walk(p, '');
  return h.digest('hex');
}

/** A key from any JSON-able description. */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class ResultCache {
  constructor(readonly dir: string) {}

  private file(kind: string, key: string): string {
    return path.join(this.dir, kind, `${key}.json`);
  }

  /** The stored value, or undefined (missing or unreadable entries are misses). */
  get<T>(kind: string, key: string): T | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(kind, key), 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v)) as T;
    } catch {
      return undefined;
    }
  }

  /** Stores a value whole (temporary file, then rename). */
  put(kind: string, key: string, value: unknown): void {
    const file = this.file(kind, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.part`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
}
