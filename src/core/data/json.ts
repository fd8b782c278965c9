/** JSON and JSON Lines data files (the value forms are described in text.ts). */
import { readWholeFile } from './bytes';
import { DataError } from './errors';
import type { DataRecord, FormatAdapter } from './format';
import { jsonSamples, jsonToSample, textLines, textRecord } from './text';

/** A JSON file: one sample or an array of samples, read whole. */
export const jsonFormat: FormatAdapter = {
  name: 'json',
  fileName: /\.json$/i,
  sniff: (b) => {
    const t = new TextDecoder().decode(b).trimStart();
    return t.startsWith('{') || t.startsWith('[');
  },
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const text = new TextDecoder().decode(await readWholeFile(file, ctx.maxBytes));
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new DataError('bad-file', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
    }
    const samples = jsonSamples(doc, file, ctx.opts.inputs.length === 1);
    for (let i = 0; i < samples.length; i++) yield textRecord(samples[i], samples.length > 1 ? `${file}[${i}]` : file);
  },
};

/** JSON Lines: one sample per non-blank line, streamed. */
export const jsonlFormat: FormatAdapter = {
  name: 'jsonl',
  fileName: /\.jsonl$|\.ndjson$/i,
  async *open(file): AsyncGenerator<DataRecord> {
    for await (const { n, line } of textLines(file)) {
      if (!line.trim()) continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new DataError('bad-file', `${file} line ${n} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
      }
      yield textRecord(jsonToSample(v, `${file}:${n}`), `${file}:${n}`);
    }
  },
};
