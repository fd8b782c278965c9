/**
 * TFLite QuantizationDebugger's per-layer CSV, as `layer_statistics_dump(file)` writes it
 * (tensorflow/lite/tools/optimize/debugging/python/debugger.py): csv.DictWriter with the header
 *   op_name, tensor_idx, <layer debug metrics>, [<layer direct compare metrics>], scale, zero_point, tensor_name
 * where the default metrics are num_elements, stddev, mean_error, max_abs_error, mean_squared_error
 * (of float - dequantized; TF 2.5 spelled the last mean_square_error) and users add their own.
 * op_name is the op's type (CONV_2D); tensor_name the op's output tensor. RMSE / scale is derived:
 * about 0.289 (1/sqrt(12)) means the layer is quantized as well as it can be.
 */
import { parseCsv } from './csv';
import { Collector, matchName, type NodeIndex } from './match';
import { ResultsFileError } from '../build';
import type { ResultsReport } from '../model';

export const TFLITE_TOOL = 'TFLite QuantizationDebugger';

/** Known columns -> metric keys of the results model; other numeric columns keep their own names. */
const COLUMNS: Record<string, string | null> = {
  op_name: null, tensor_idx: null, tensor_name: null, scale: null, zero_point: null, num_elements: null,
  stddev: 'stddev', mean_error: 'meanError', max_abs_error: 'maxAbsError', mean_squared_error: 'mse', mean_square_error: 'mse',
};

export function looksLikeTfliteDebuggerCsv(text: string): boolean {
  const head = text.replace(/^\ufeff/, '').split(/\r?\n/, 1)[0].split(',').map((s) => s.trim());
  return head[0] === 'op_name' && head.includes('tensor_name');
}

/**
 * The tensor a row names. The debugger strips a trailing digit from some names
 * (_get_operand_name_and_index), so a name that matches nothing is retried with one digit added.
 */
function matchTensor(idx: NodeIndex, name: string): { node: string; tensor: string } | undefined {
  const m = matchName(idx, name, ['tensor', 'node']);
  if (m) return { node: m.node, tensor: name };
  const near = [...idx.producers.keys()].filter((t) => t.length === name.length + 1 && t.startsWith(name) && /\d$/.test(t));
  return near.length === 1 ? { node: idx.producers.get(near[0])!, tensor: near[0] } : undefined;
}

export function importTfliteDebuggerCsv(text: string, file: string, idx: NodeIndex, date = new Date().toISOString()): ResultsReport {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (e) {
    throw new ResultsFileError(file, `not readable CSV (${(e as Error).message}).`);
  }
  if (!rows.length) throw new ResultsFileError(file, 'the file is empty: expected the CSV of QuantizationDebugger.layer_statistics_dump().');
  const header = rows[0].map((h) => h.trim());
  for (const need of ['op_name', 'tensor_name']) {
    if (!header.includes(need)) throw new ResultsFileError(file, `no "${need}" column (the header is ${header.join(',')}): expected the CSV of QuantizationDebugger.layer_statistics_dump(), which starts op_name,tensor_idx,...`);
  }
  const metricCols = header.map((h, i) => ({ h, i, key: h in COLUMNS ? COLUMNS[h] : h })).filter((c): c is { h: string; i: number; key: string } => c.key !== null && c.h !== '');
  if (!metricCols.length) throw new ResultsFileError(file, `no metric columns (the header is ${header.join(',')}).`);
  const col = (name: string): number => header.indexOf(name);
  const c = new Collector(idx, TFLITE_TOOL);
  const metrics = new Set<string>();
  rows.slice(1).forEach((row, r) => {
    const line = r + 2;
    if (row.length !== header.length) throw new ResultsFileError(file, `line ${line} has ${row.length} fields, the header ${header.length}.`);
    const values = metricCols.flatMap((mc) => {
      const cell = row[mc.i].trim().toLowerCase();
      if (cell === '') return [];
      // Python writes float('inf') / float('nan') as inf / nan
      const v = cell === 'nan' ? NaN : cell === 'inf' ? Infinity : cell === '-inf' ? -Infinity : Number(cell);
      if (Number.isNaN(v) && cell !== 'nan') throw new ResultsFileError(file, `line ${line}: ${mc.h} is '${row[mc.i]}', not a number.`);
      return [{ key: mc.key, v }];
    });
    const tensor = row[col('tensor_name')];
    const m = matchTensor(idx, tensor);
    if (!m) { c.unmatched(tensor, `no node of the model produces a tensor of this name (row of ${row[col('op_name')]}, line ${line})`); return; }
    for (const { key, v } of values) {
      c.set(m.node, key, v, tensor, m.tensor);
      metrics.add(key);
    }
    const scale = col('scale') >= 0 ? Number(row[col('scale')]) : NaN;
    const mse = metricCols.find((x) => x.key === 'mse');
    if (mse && scale > 0) {
      c.set(m.node, 'rmseOverScale', Math.sqrt(Number(row[mse.i])) / scale, tensor, m.tensor);
      metrics.add('rmseOverScale');
    }
  });
  const out = c.finish();
  out.sources.push({ tool: TFLITE_TOOL, date, file, metrics: [...metrics] });
  return out;
}
