/**
 * onnxruntime's qdq_loss_debug results, as a user saves them with json.dump
 * (onnxruntime/python/tools/quantization/qdq_loss_debug.py):
 *  - compute_activation_error(...) -> {activation tensor name: {"qdq_err": SQNR dB, "xmodel_err"?: SQNR dB}}
 *    qdq_err compares a tensor before and after its Q/DQ pair within the QDQ model; xmodel_err the
 *    float model's tensor with the QDQ model's (present when float activations were given).
 *  - compute_weight_error(...) -> {weight name: SQNR dB}
 * SQNR there is 20 log10(|x| / |x - y|), the same quantity as QuantLens's sqnrDb. Keys are tensor
 * names: an activation belongs to the node that produces it, a weight to the node that reads it.
 */
import { Collector, matchName, parsePythonJson, type NodeIndex } from './match';
import { isObj, parseJsonText, ResultsFileError } from '../build';
import type { ResultsReport } from '../model';

export const ORT_TOOL = 'onnxruntime qdq_loss_debug';

/** True when the parsed JSON looks like compute_activation_error's or compute_weight_error's result. */
export function looksLikeOrtQdqLoss(v: unknown): boolean {
  if (!isObj(v)) return false;
  const vals = Object.values(v);
  return vals.length > 0 && (vals.every((x) => isObj(x) && typeof x.qdq_err === 'number') || vals.every((x) => typeof x === 'number'));
}

export function importOrtQdqLoss(text: string, file: string, idx: NodeIndex, date = new Date().toISOString()): ResultsReport {
  const v = parseJsonText(text, file, parsePythonJson);
  if (!isObj(v) || !Object.keys(v).length) throw new ResultsFileError(file, 'expected a JSON object keyed by tensor name, as json.dump writes compute_activation_error() or compute_weight_error() of onnxruntime.quantization.qdq_loss_debug.');
  const c = new Collector(idx, ORT_TOOL);
  const entries = Object.entries(v);
  const weights = entries.every(([, x]) => typeof x === 'number');
  const metrics = new Set<string>();
  for (const [name, x] of entries) {
    if (weights) {
      const m = matchName(idx, name, ['weight', 'node']);
      if (!m) { c.unmatched(name, idx.consumers.has(name) ? `the weight is read by ${idx.consumers.get(name)!.length} nodes` : 'no weight (initializer) of this name is read by a node of the model'); continue; }
      c.set(m.node, 'weightSqnrDb', x as number, name);
      metrics.add('weightSqnrDb');
      continue;
    }
    if (!isObj(x) || typeof x.qdq_err !== 'number' || (x.xmodel_err !== undefined && typeof x.xmodel_err !== 'number')) {
      throw new ResultsFileError(file, `entry "${name}" is not {"qdq_err": number, "xmodel_err"?: number} (compute_activation_error's shape); a file mixing activation and weight errors is not qdq_loss_debug output.`);
    }
    // an activation tensor: its producer; the float model's names also match the QDQ model's before its Q/DQ pair
    const m = matchName(idx, name, ['tensor', 'node']);
    if (!m) { c.unmatched(name, 'no node of the model produces a tensor of this name'); continue; }
    c.set(m.node, 'qdqSqnrDb', x.qdq_err, name, name);
    metrics.add('qdqSqnrDb');
    if (typeof x.xmodel_err === 'number') { c.set(m.node, 'sqnrDb', x.xmodel_err, name, name); metrics.add('sqnrDb'); }
  }
  const r = c.finish();
  r.sources.push({ tool: ORT_TOOL, date, file, metrics: [...metrics] });
  return r;
}
