/** A model summary as readable text: what `quantlens inspect` prints and *Show Model Summary* shows. */
import { formatShape } from './model';
import { describeNodeCount, describeParameters, type ModelSummary } from './summary';

export function formatSummaryText(fileName: string, s: ModelSummary): string {
  const lines: string[] = [];
  lines.push(`${fileName}: ${s.format.toUpperCase()} ${s.format === 'onnx' ? `opset ${s.opsetOrVersion}, IR ${s.formatVersion}` : `schema v${s.formatVersion}`}${s.producer ? `, producer ${s.producer}` : ''}`);
  lines.push(`  nodes: ${describeNodeCount(s)}`);
  lines.push(`  parameters: ${describeParameters(s)}; file ${s.fileSize} bytes`);
  const qops = Object.entries(s.quantization.quantOps).sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(', ');
  lines.push(`  quantization: ${s.quantization.scheme}${qops ? ` (${qops})` : ''}`);
  for (const [label, list] of [['inputs', s.inputs], ['outputs', s.outputs]] as const) {
    lines.push(`  ${label}:`);
    for (const io of list) lines.push(`    ${io.name}: ${io.dtype}${formatShape(io.shape)}`);
  }
  lines.push('  ops:');
  for (const [op, n] of Object.entries(s.opHistogram).sort((a, b) => b[1] - a[1])) lines.push(`    ${op} ${n}`);
  return lines.join('\n') + '\n';
}
