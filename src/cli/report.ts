/**
 * `quantlens report --from <results.json> [--import <file> --model <model>] --format <f> --out <file>`:
 * one report from QuantLens results (evaluate / layers / sensitivity --json, or a results model)
 * and what other tools measured, matched to a model's nodes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CliUsageError, countFlag } from './layers';

export const REPORT_HELP = `Usage: quantlens report [--from <results.json>]... [--import <file> --model <model>]... --format <f> --out <file>

Writes a report of QuantLens results and of what other tools measured. --from reads the JSON of
'quantlens evaluate|layers|sensitivity --json' or a QuantLens results file (repeat it: layers are
joined by node name). --import reads onnxruntime qdq_loss_debug errors (json.dump of
compute_activation_error / compute_weight_error), TFLite QuantizationDebugger's
layer_statistics_dump CSV, or Model Explorer node data JSON, and matches its names to the nodes of
--model; names that match nothing are listed in the report.

  --from <file>             QuantLens results or --json output (repeatable)
  --import <file>           Another tool's per-layer results (repeatable; needs --model)
  --import-format <f>       ort-qdq-loss | tflite-debugger | model-explorer (default: recognised)
  --model <model>           The model (ONNX or TFLite) imported names are matched to
  --format <f>              html | md | csv | json | model-explorer
  --out <file>              Where to write the report
  --metric <key>            The metric layers are ranked (and Model Explorer coloured) by
                            (default: sensitivity, else sqnrDb)
  --top <n>                 Worst layers listed in Markdown (default 10), charted in HTML (default 40)
  --title <text>            The report's title
  -h, --help                Print this help

Example (the per-layer error of a quantized MNIST model, as Markdown for a pull request):
  quantlens report --from test/fixtures/report/mnist-layers.json --format md --out mnist-report.md`;

export async function reportCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const many = { type: 'string', multiple: true } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { from: many, import: many, 'import-format': str, model: str, format: str, out: str, metric: str, top: str, title: str, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { process.stdout.write(REPORT_HELP + '\n'); return 0; }
  const { REPORT_FORMATS, IMPORT_FORMATS, parseResultsJson, importResultsFile, mergeReports, exportReport, nodeIndex, ResultsFileError } = await import('../core/report');
  if (positionals.length) throw new CliUsageError(`report takes no positional arguments (got '${positionals[0]}'): give results with --from.`);
  const from = values.from ?? [];
  const imports = values.import ?? [];
  if (!from.length && !imports.length) throw new CliUsageError('report needs results: --from <results.json> and/or --import <file> --model <model>.');
  if (imports.length && !values.model) throw new CliUsageError('--import needs --model <model> to match the imported names to its nodes.');
  const format = values.format as (typeof REPORT_FORMATS)[number] | undefined;
  if (!format || !REPORT_FORMATS.includes(format)) throw new CliUsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}${values.format ? ` (got '${values.format}')` : ''}.`);
  const importFormat = values['import-format'] as (typeof IMPORT_FORMATS)[number] | undefined;
  if (importFormat && !IMPORT_FORMATS.includes(importFormat)) throw new CliUsageError(`--import-format must be one of ${IMPORT_FORMATS.join(', ')} (got '${importFormat}').`);
  if (!values.out) throw new CliUsageError('report needs --out <file>.');

  const reports = from.map((f) => {
    let text: string;
    try { text = fs.readFileSync(f, 'utf8'); } catch (e) { throw new ResultsFileError(f, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`); }
    return parseResultsJson(text, f);
  });
  let graphId: string | undefined;
  if (values.model) {
    const { openModelFile } = await import('../core/open');
    const { mainGraph } = await import('../core/model');
    const model = await openModelFile(values.model);
    graphId = mainGraph(model).name || undefined;
    const idx = nodeIndex(model);
    for (const f of imports) reports.push(importResultsFile(f, idx, { format: importFormat, metric: values.metric }));
  }
  const report = mergeReports(reports, values.title);
  const out = path.resolve(values.out);
  const { notes } = await exportReport(report, format, out, { metric: values.metric, top: countFlag(values.top, '--top', 1), graphId });
  for (const u of report.unmatched) process.stderr.write(`not matched: ${u.name} (${u.source}): ${u.reason}\n`);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  process.stdout.write(`wrote ${out} (${report.layers.length} layers${report.evaluation ? ', evaluation' : ''}${report.unmatched.length ? `, ${report.unmatched.length} unmatched names` : ''})\n`);
  return 0;
}
