/**
 * The `quantlens` command line. It uses the core directly (no VS Code). Bad input gets one clear
 * line on stderr and a non-zero exit, never a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, isModelError } from '../core/errors';
import { openModelFile } from '../core/open';
import { summarize, type ModelSummary } from '../core/summary';
import { formatShape } from '../core/model';
import { VERSION } from '../core/version';

const HELP = `quantlens ${VERSION} — inspect and quantize ONNX and TFLite models

Usage:
  quantlens inspect <model> [--json]       Print a summary of the model
  quantlens convert <model> --out <file>   Read and write back through the graph model
  quantlens quantize <model> --out <file>  Quantize (static/dynamic/fp16); see 'quantlens quantize --help'
  quantlens --version                      Print the version
  quantlens --help                         Print this help

Exit codes: 0 success, 1 bad input or failure, 2 usage error.`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  try {
    switch (command) {
      case 'inspect':
        return await inspect(rest);
      case 'convert':
        return await convert(rest);
      case 'quantize':
        return await (await import('./quantize')).quantizeCommand(rest);
      default:
        throw new UsageError(`unknown command '${command}'. Run 'quantlens --help'.`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`quantlens: ${e.message}\n`);
      return 2;
    }
    if (isModelError(e)) {
      process.stderr.write(`quantlens: ${e.message}\n`);
      return 1;
    }
    // Argument parsing errors from node:util carry a code; treat them as usage errors.
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`quantlens: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`quantlens: ${describeError(e)}\n`);
    return 1;
  }
}

async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one model path.');
  const model = await openModelFile(positionals[0]);
  const summary = summarize(model);
  process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(positionals[0], summary));
  return 0;
}

async function convert(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { out: { type: 'string', short: 'o' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('convert takes exactly one model path.');
  if (!values.out) throw new UsageError('convert needs --out <file>.');
  const src = path.resolve(positionals[0]);
  const dst = path.resolve(values.out);
  if (fs.existsSync(dst) && fs.realpathSync(dst) === fs.realpathSync(src)) {
    throw new UsageError('--out must not be the source model; QuantLens never overwrites a model.');
  }
  const model = await openModelFile(src);
  const { writeModelFile } = await import('../core/write');
  await writeModelFile(model, dst);
  process.stdout.write(`wrote ${dst}\n`);
  return 0;
}

function formatSummary(file: string, s: ModelSummary): string {
  const lines: string[] = [];
  lines.push(`${path.basename(file)}: ${s.format.toUpperCase()} ${s.format === 'onnx' ? `opset ${s.opsetOrVersion}, IR ${s.formatVersion}` : `schema v${s.formatVersion}`}${s.producer ? `, producer ${s.producer}` : ''}`);
  lines.push(`  nodes: ${s.nodeCount} (main graph ${s.mainGraphNodeCount}, subgraphs ${s.subgraphCount})`);
  lines.push(`  parameters: ${s.parameterCount.toLocaleString('en-US')} in ${s.initializerCount} initializers; file ${s.fileSize} bytes`);
  lines.push(`  quantization: ${s.quantization.scheme}`);
  for (const [label, list] of [['inputs', s.inputs], ['outputs', s.outputs]] as const) {
    lines.push(`  ${label}:`);
    for (const io of list) lines.push(`    ${io.name}: ${io.dtype}${formatShape(io.shape)}`);
  }
  lines.push('  ops:');
  for (const [op, n] of Object.entries(s.opHistogram).sort((a, b) => b[1] - a[1])) lines.push(`    ${op} ${n}`);
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`quantlens: ${describeError(e)}\n`);
      process.exit(1);
    },
  );
}
