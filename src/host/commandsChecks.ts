/**
 * What the commands can tell from a model's summary before asking the user anything. No 'vscode'
 * import: plain data in, plain data out.
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
