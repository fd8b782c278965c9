/**
 * What the commands can tell from a model's summary before asking the user anything, and how a
 * quantize result's notes are presented. No 'vscode' import: plain data in, plain data out.
 */
import type { ModelSummary } from '../core/summary';

const SCHEME_NAMES: Record<string, string> = {
  qdq: 'QuantizeLinear/DequantizeLinear pairs',
  qoperator: 'quantized operators',
  dynamic: 'dynamic quantization',
  fp16: 'float16 weights',
  mixed: 'several quantization schemes',
};

/** Why `summary`'s model cannot be quantized, or undefined when it can. */
export function quantizeRefusal(fileName: string, summary: ModelSummary): string | undefined {
  if (summary.format !== 'onnx') {
    return `'${fileName}' is a ${summary.format === 'tflite' ? 'TFLite' : summary.format} model; QuantLens quantizes ONNX models only.`;
  }
  const q = summary.quantization;
  if (q.scheme === 'none') return undefined;
  const ops = Object.entries(q.quantOps).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([op, n]) => `${op} ×${n}`).join(', ');
  return `'${fileName}' is already quantized (${SCHEME_NAMES[q.scheme] ?? q.scheme}${ops ? `: ${ops}` : ''}); quantize the float model it was made from instead.`;
}

/**
 * Notes that only inform (the output differs from the source in a harmless, expected way). Every
 * other note changes what the result is worth (synthetic data, default image pre-processing,
 * per-tensor fallbacks, overrides that found no node) and is a warning.
 */
const INFORMATIONAL = [/^The opset was raised from \d+ to \d+ for /];

export function splitNotes(notes: readonly string[]): { info: string[]; warnings: string[] } {
  const info: string[] = [];
  const warnings: string[] = [];
  for (const n of notes) (INFORMATIONAL.some((re) => re.test(n)) ? info : warnings).push(n);
  return { info, warnings };
}
