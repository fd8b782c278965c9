/**
 * The `quantlens` command line. It uses the core directly (no VS Code). Bad input gets one clear
 * line on stderr and a non-zero exit, never a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, isModelError } from '../core/errors';
import { openModelFile } from '../core/open';
import { summarize } from '../core/summary';
import { formatSummaryText } from '../core/summaryText';
import { VERSION } from '../core/version';
import { QUANTIZE_HELP } from './quantizeHelp';
import { EVALUATE_HELP } from './evaluate';
import { LAYERS_HELP } from './layers';
import { HISTOGRAMS_HELP } from './histograms';
import { SENSITIVITY_HELP } from './sensitivity';
import { AUTOTUNE_HELP } from './autotune';
import { ROBUSTNESS_HELP } from './robustness';
import { REPORT_HELP } from './report';

const HELP = `quantlens ${VERSION} — inspect and quantize ONNX and TFLite models

Usage:
  quantlens inspect <model> [--json]       Print a summary of the model
  quantlens convert <model> --out <file>   Read and write back through the graph model
  quantlens quantize <model> --out <file>  Quantize (static/dynamic/fp16)
  quantlens evaluate <model> [<quantized>] --data <path>
                                           Metrics of a model, or float against quantized
  quantlens layers <float> <quantized> --data <path>
                                           Per-layer error and saturation of a QDQ model
  quantlens histograms <model> --node <name> --data <path>
                                           A layer's weight / activation histograms and grid
  quantlens sensitivity <model> --data <path>
                                           Per-layer sensitivity to quantization
  quantlens autotune <model> --data <path> --budget <expr> --out <recipe.json>
                                           Cheapest mixed-precision plan meeting a budget
  quantlens robustness <float> <quantized> --data <path>
                                           Float against quantized under input shifts
  quantlens report --from <results.json> --format <f> --out <file>
                                           HTML / Markdown / CSV / JSON / Model Explorer report
  quantlens <command> --help               A command's options and an example
  quantlens --version                      Print the version
  quantlens --help                         Print this help

Example:
  quantlens inspect samples/mnist-12.onnx

Exit codes: 0 success, 1 bad input or failure, 2 usage error.`;

const INSPECT_HELP = `Usage: quantlens inspect <model> [--json]

Prints a summary of an ONNX or TFLite model: format, producer, opset, inputs and outputs, node
count (subgraphs included), operator histogram, initializers, parameters and the quantization
scheme it already carries.

  --json        Print the summary as JSON
  -h, --help    Print this help

Example:
  quantlens inspect samples/mnist-12.onnx --json`;

const CONVERT_HELP = `Usage: quantlens convert <model> --out <file>

Reads the model into QuantLens's graph model and writes it back in the same format. The output
must not be the source: QuantLens never overwrites a model.

  -o, --out <file>   Where to write the model
  -h, --help         Print this help

Example:
  quantlens convert samples/mnist-12.onnx --out mnist-copy.onnx`;

/** Each command's help; its first line is the usage shown with usage errors. */
export const COMMAND_HELP: Record<string, string> = { inspect: INSPECT_HELP, convert: CONVERT_HELP, quantize: QUANTIZE_HELP, evaluate: EVALUATE_HELP, layers: LAYERS_HELP, histograms: HISTOGRAMS_HELP, sensitivity: SENSITIVITY_HELP, autotune: AUTOTUNE_HELP, robustness: ROBUSTNESS_HELP, report: REPORT_HELP };

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !COMMAND_HELP[topic]) {
      process.stderr.write(`quantlens: no help for '${topic}': the commands are ${Object.keys(COMMAND_HELP).join(', ')}.\n`);
      return 2;
    }
    process.stdout.write((topic ? COMMAND_HELP[topic] : HELP) + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  // --help / -h anywhere after a command answers with that command's help, whatever else is there
  const flags = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (COMMAND_HELP[command] && flags.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(COMMAND_HELP[command] + '\n');
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
      case 'evaluate':
        return await (await import('./evaluate')).evaluateCommand(rest);
      case 'layers':
        return await (await import('./layers')).layersCommand(rest);
      case 'histograms':
        return await (await import('./histograms')).histogramsCommand(rest);
      case 'sensitivity':
        return await (await import('./sensitivity')).sensitivityCommand(rest);
      case 'autotune':
        return await (await import('./autotune')).autotuneCommand(rest);
      case 'robustness':
        return await (await import('./robustness')).robustnessCommand(rest);
      case 'report':
        return await (await import('./report')).reportCommand(rest);
      default:
        throw new UsageError(`unknown command '${command}'. Run 'quantlens --help'.`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`quantlens: ${e.message}${COMMAND_HELP[command] ? ` ${usageLine(command)}` : ''}\n`);
      return 2;
    }
    if (isModelError(e)) {
      process.stderr.write(`quantlens: ${e.message}\n`);
      return 1;
    }
    // Argument parsing errors from node:util carry a code; treat them as usage errors.
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`quantlens: ${parseErrorMessage(command, e as Error)}\n`);
      return 2;
    }
    process.stderr.write(`quantlens: ${describeError(e)}\n`);
    return 1;
  }
}

/**
 * node:util's parseArgs messages suggest shell quoting that does not fit here (and one ends on a
 * broken quote): say which option is wrong and show the command's usage line instead.
 */
function parseErrorMessage(command: string, e: Error): string {
  const usage = usageLine(command);
  const unknown = /^Unknown option '([^']+)'/.exec(e.message);
  if (unknown) return `${command}: unknown option '${unknown[1]}'. ${usage}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(e.message);
  if (missing) return `${command}: option '${missing[1]}' needs a value. ${usage}`;
  const noArg = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(e.message);
  if (noArg) return `${command}: option '${noArg[1]}' does not take a value. ${usage}`;
  return `${e.message.split('\n')[0]} ${usage}`;
}

function usageLine(command: string): string {
  return `${COMMAND_HELP[command]?.split('\n')[0] ?? `Usage: quantlens ${command}`} (more: 'quantlens ${command} --help')`;
}

async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one model path.');
  const model = await openModelFile(positionals[0]);
  const summary = summarize(model);
  process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummaryText(path.basename(positionals[0]), summary));
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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`quantlens: ${describeError(e)}\n`);
      process.exit(1);
    },
  );
}
