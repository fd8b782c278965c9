/**
 * Model Explorer's node data JSON (google-ai-edge/model-explorer, NodeDataProviderData in
 * src/ui/src/components/visualizer/common/types.ts):
 *   {graphId: {name?, results: {nodeKey: {value, bgColor?, textColor?}}, thresholds?: [{value, bgColor, textColor?}],
 *              gradient?: [{stop, bgColor?, textColor?}]}}
 * A node key is a node id or one of the node's output tensor names. A file holding one graph's data
 * ({results, ...} without the graph id) is read too. One value per node: the metric it stands for is
 * the data's `name` when it is one of ours (what the writer sets), else `name` or 'value'.
 */
import { Collector, matchName, type NodeIndex } from './match';
import { isObj, parseJsonText, ResultsFileError } from '../build';
import type { ResultsReport } from '../model';

export const MODEL_EXPLORER_TOOL = 'Model Explorer node data';

export function looksLikeModelExplorer(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (isObj(v.results)) return true;
  const vals = Object.values(v);
  return vals.length > 0 && vals.every((g) => isObj(g) && isObj(g.results));
}

export function importModelExplorer(text: string, file: string, idx: NodeIndex, opts: { metric?: string; date?: string } = {}): ResultsReport {
  const v = parseJsonText(text, file);
  if (!looksLikeModelExplorer(v)) throw new ResultsFileError(file, 'not Model Explorer node data: expected {graphId: {"results": {nodeId: {"value": ...}}}} (or one graph\'s {"results": ...}).');
  const graphs: [string, Record<string, unknown>][] = isObj((v as Record<string, unknown>).results) ? [['', v as Record<string, unknown>]] : Object.entries(v as Record<string, Record<string, unknown>>);
  const c = new Collector(idx, MODEL_EXPLORER_TOOL);
  const metrics = new Set<string>();
  let notNumbers = 0;
  for (const [graphId, g] of graphs) {
    const metric = opts.metric ?? (typeof g.name === 'string' && g.name ? g.name : 'value');
    for (const [key, res] of Object.entries(g.results as Record<string, unknown>)) {
      if (!isObj(res) || !('value' in res)) throw new ResultsFileError(file, `result "${key}"${graphId ? ` of graph "${graphId}"` : ''} has no "value".`);
      if (typeof res.value !== 'number') { notNumbers++; c.unmatched(key, `its value ${JSON.stringify(res.value)} is not a number`); continue; }
      const m = matchName(idx, key, ['node', 'tensor']);
      if (!m) { c.unmatched(key, 'no node of this name (or node producing a tensor of this name) in the model'); continue; }
      c.set(m.node, metric, res.value, key);
      metrics.add(metric);
    }
  }
  const out = c.finish();
  if (notNumbers) out.warnings.push(`${MODEL_EXPLORER_TOOL}: ${notNumbers} value(s) are not numbers; reports chart numbers only.`);
  out.sources.push({ tool: MODEL_EXPLORER_TOOL, date: opts.date ?? new Date().toISOString(), file, metrics: [...metrics] });
  return out;
}
