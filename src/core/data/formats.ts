/** The format adapters, and telling a file's format from its name or its first bytes. */
import * as path from 'node:path';
import { openFileSource } from './bytes';
import { csvFormat } from './csv';
import type { DataFormat, FormatAdapter } from './format';
import { idxFormat } from './idx';
import { imageFormat } from './image';
import { jsonFormat, jsonlFormat } from './json';
import { npyFormat, npzFormat } from './npy';
import { rawFormat } from './raw';
import { pbFormat } from './tensorproto';

export const FORMAT_ADAPTERS: Readonly<Record<DataFormat, FormatAdapter>> = {
  npy: npyFormat, npz: npzFormat, pb: pbFormat, idx: idxFormat, json: jsonFormat,
  jsonl: jsonlFormat, csv: csvFormat, image: imageFormat, raw: rawFormat,
};

const ADAPTERS = Object.values(FORMAT_ADAPTERS);

/** The format a file name suggests, or undefined. */
export function formatFromName(file: string): DataFormat | undefined {
  const base = path.basename(file);
  return ADAPTERS.find((a) => a.fileName.test(base))?.name;
}

/** The format a file's first bytes show, or undefined (CSV, JSON Lines, .pb and raw files cannot be told by bytes). */
export async function sniffFormat(file: string): Promise<DataFormat | undefined> {
  const src = await openFileSource(file);
  try {
    const head = await src.read(0, Math.min(16, src.size ?? 0));
    return ADAPTERS.find((a) => a.sniff?.(head))?.name;
  } finally {
    await src.close();
  }
}
