/**
 * Raising a model's default opset, as onnx's version converter does for the ops that changed form
 * on the way: attributes that became inputs (Clip min/max at 11, Slice starts/ends/axes at 10,
 * Pad pads/value at 11, TopK k at 10, Split split and Squeeze / Unsqueeze / ReduceSum axes at 13),
 * Scatter renamed ScatterElements at 11, Dropout's ratio (inference ignores it) at 12, and
 * Softmax / LogSoftmax / Hardmax, whose axis stopped flattening at 13 (Flatten -> op -> Reshape
 * to the input's shape where the meaning would change). Ops that cannot be carried over are named;
 * nothing is changed then.
 */
import type { Attribute, Graph, Model, Node } from '../model';
import { allGraphs } from '../model';
import type { TensorInfo } from './preprocess';
import { addInitializer, addValue, defaultOpset, f32Bytes, freshName, makeNode } from './rewrite/graph';
import { allNames } from './subgraphs';

/** Default-domain ops whose form changed at that opset and that are not carried over here. */
const NOT_UPGRADED: Record<string, number> = { Upsample: 10, Resize: 11 };

const isDefault = (n: Node): boolean => n.domain === '' || n.domain === 'ai.onnx';
const attr = (n: Node, name: string): Attribute | undefined => n.attributes.find((a) => a.name === name);
const ints = (a: Attribute | undefined): number[] | undefined => (a && a.value.type === 'ints' ? a.value.value.map(Number) : undefined);
const int = (a: Attribute | undefined): number | undefined => (a && a.value.type === 'int' ? Number(a.value.value) : undefined);
const float = (a: Attribute | undefined): number | undefined => (a && a.value.type === 'float' ? a.value.value : undefined);
const drop = (n: Node, ...names: string[]): void => { n.attributes = n.attributes.filter((a) => !names.includes(a.name)); };

export interface UpgradeResult {
  /** What was carried over ('Clip x2 (min/max to inputs)', ...). */
  changes: string[];
}

/**
 * Why the model cannot be raised to `target` (undefined: it can). `info` (main-graph tensor types)
 * tells a float32 Clip / Pad from others; without it they are assumed float32 where undeclared.
 */
export function upgradeBlocker(model: Model, target: number, info?: Map<string, TensorInfo>): string | undefined {
  const from = defaultOpset(model);
  for (const g of allGraphs(model)) {
    for (const n of g.nodes) {
      if (!isDefault(n)) continue;
      const at = NOT_UPGRADED[n.opType];
      if (at !== undefined && from < at && at <= target) return `node '${n.name}' (${n.opType}) changed form in opset ${at} and is not carried over`;
      if (['Clip', 'Pad'].includes(n.opType) && from < 11 && target >= 11) {
        const t = typeOf(g, n.inputs[0], info);
        if (t && t !== 'float32') return `node '${n.name}' (${n.opType}) takes ${t}; only float32 ${n.opType} attributes are carried over to inputs`;
      }
    }
  }
  return undefined;
}

function typeOf(g: Graph, name: string, info?: Map<string, TensorInfo>): string | undefined {
  return info?.get(name)?.dtype ?? g.values.get(name)?.type?.dtype ?? g.values.get(name)?.constant?.dtype;
}

/** Raises the default opset to `target`, rewriting the ops that changed form (call upgradeBlocker first). */
export function upgradeOpset(model: Model, target: number, info?: Map<string, TensorInfo>): UpgradeResult {
  const from = defaultOpset(model);
  const taken = allNames(model);
  const counts = new Map<string, number>();
  const note = (what: string): void => { counts.set(what, (counts.get(what) ?? 0) + 1); };
  const crosses = (at: number): boolean => from < at && at <= target;
  for (const g of allGraphs(model)) {
    const i64 = (base: string, values: number[]): string => {
      const name = freshName(g, base, taken);
      addInitializer(g, name, 'int64', [values.length], new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
      return name;
    };
    const f32 = (base: string, v: number): string => {
      const name = freshName(g, base, taken);
      addInitializer(g, name, 'float32', [], f32Bytes([v]));
      return name;
    };
    const out: Node[] = [];
    for (const n of g.nodes) {
      if (!isDefault(n)) { out.push(n); continue; }
      switch (n.opType) {
        case 'Clip':
          if (crosses(11)) {
            const lo = float(attr(n, 'min')); const hi = float(attr(n, 'max'));
            n.inputs = [n.inputs[0], lo === undefined ? '' : f32(`${n.name}_min`, lo), ...(hi === undefined ? [] : [f32(`${n.name}_max`, hi)])];
            drop(n, 'min', 'max');
            note('Clip (min/max to inputs)');
          }
          break;
        case 'Slice':
          if (crosses(10)) {
            const starts = ints(attr(n, 'starts')) ?? []; const ends = ints(attr(n, 'ends')) ?? []; const axes = ints(attr(n, 'axes'));
            n.inputs = [n.inputs[0], i64(`${n.name}_starts`, starts), i64(`${n.name}_ends`, ends), ...(axes ? [i64(`${n.name}_axes`, axes)] : [])];
            drop(n, 'starts', 'ends', 'axes');
            note('Slice (starts/ends/axes to inputs)');
          }
          break;
        case 'Pad':
          if (crosses(11)) {
            const pads = ints(attr(n, 'pads')) ?? ints(attr(n, 'paddings')) ?? [];
            const value = float(attr(n, 'value')) ?? 0;
            n.inputs = [n.inputs[0], i64(`${n.name}_pads`, pads), f32(`${n.name}_value`, value)];
            drop(n, 'pads', 'paddings', 'value');
            note('Pad (pads/value to inputs)');
          }
          break;
        case 'TopK':
          if (crosses(10)) {
            n.inputs = [n.inputs[0], i64(`${n.name}_k`, [int(attr(n, 'k')) ?? 1])];
            drop(n, 'k');
            note('TopK (k to an input)');
          }
          break;
        case 'Scatter':
          if (crosses(11)) { n.opType = 'ScatterElements'; note('Scatter (renamed ScatterElements)'); }
          break;
        case 'Dropout':
          // inference ignores the ratio; from 12 it is an optional input
          if (crosses(12) && attr(n, 'ratio')) { drop(n, 'ratio', 'is_test'); note('Dropout (ratio dropped: inference ignores it)'); }
          break;
        case 'Split':
          if (crosses(13) && attr(n, 'split')) {
            n.inputs = [n.inputs[0], i64(`${n.name}_split`, ints(attr(n, 'split'))!)];
            drop(n, 'split');
            note('Split (split to an input)');
          }
          break;
        case 'Squeeze': case 'Unsqueeze': case 'ReduceSum':
          if (crosses(13) && attr(n, 'axes')) {
            n.inputs = [n.inputs[0], i64(`${n.name}_axes`, ints(attr(n, 'axes'))!)];
            drop(n, 'axes');
            note(`${n.opType} (axes to an input)`);
          }
          break;
        case 'Softmax': case 'LogSoftmax': case 'Hardmax':
          if (crosses(13) && softmaxChangesMeaning(g, n, info)) {
            // before 13 the input is flattened to 2-D at `axis`: do that explicitly, then restore the shape
            const axis = int(attr(n, 'axis')) ?? 1;
            const x = n.inputs[0]; const y = n.outputs[0];
            const shape = freshName(g, `${x}_shape`, taken); const flat = freshName(g, `${x}_flat`, taken); const r = freshName(g, `${y}_2d`, taken);
            for (const v of [shape, flat, r]) addValue(g, v, null, null);
            out.push(makeNode('Shape', freshName(g, `${n.name}_Shape`, taken), [x], [shape]));
            out.push(makeNode('Flatten', freshName(g, `${n.name}_Flatten`, taken), [x], [flat], '', { axis }));
            n.inputs = [flat]; n.outputs = [r];
            n.attributes = [...n.attributes.filter((a) => a.name !== 'axis'), { name: 'axis', value: { type: 'int', value: -1 } }];
            out.push(n);
            out.push(makeNode('Reshape', freshName(g, `${n.name}_Reshape`, taken), [r, shape], [y]));
            note(`${n.opType} (flattened explicitly)`);
            continue;
          }
          break;
        default:
      }
      out.push(n);
    }
    g.nodes = out;
  }
  const o = model.opsets.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  if (o) o.version = target; else model.opsets.push({ domain: '', version: target });
  if (model.formatVersion < 7) model.formatVersion = 7;
  return { changes: [...counts].map(([what, k]) => (k > 1 ? `${what} x${k}` : what)) };
}

/** Whether a Softmax-like node computes something else once its axis stops flattening (opset 13). */
function softmaxChangesMeaning(g: Graph, n: Node, info?: Map<string, TensorInfo>): boolean {
  const axis = int(attr(n, 'axis')) ?? 1;
  if (axis === -1) return false;
  const shape = info?.get(n.inputs[0])?.shape ?? g.values.get(n.inputs[0])?.type?.shape;
  if (!shape) return true;
  const rank = shape.length;
  const a = axis < 0 ? axis + rank : axis;
  // the same when no dimension after `axis` is larger than 1
  return !(rank <= 2 || a === rank - 1 || shape.slice(a + 1).every((d) => d === 1));
}
