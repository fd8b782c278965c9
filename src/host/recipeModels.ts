/**
 * The model a recipe belongs to: `dir/mnist-12.quantlens.json` is the sidecar of `dir/mnist-12.onnx`
 * (or `.tflite`). Recipe hovers, completion and diagnostics need its nodes; they come from the open
 * QuantLens editor when there is one, else from a model worker opened once per model file (and
 * closed again: only the graph's names, op types and shapes are kept).
 */
import * as vscode from 'vscode';
import type { GraphView, GvNode } from '../core/graphView';
import { OP_SPECS, type Precision } from '../core/quant/plan';
import type { ModelEditorProvider } from './modelEditorProvider';
import { ModelWorkerClient } from './worker/modelWorkerClient';

export const MODEL_EXTENSIONS = ['.onnx', '.tflite'];

/** A model's nodes, indexed for the recipe features. */
export interface RecipeModel {
  uri: vscode.Uri;
  graph: GraphView;
  byName: Map<string, GvNode>;
}

/** The model file a sidecar recipe belongs to, if one exists beside it. */
export async function modelForRecipe(recipe: vscode.Uri): Promise<vscode.Uri | undefined> {
  const m = /^(.*)\.quantlens\.json$/.exec(recipe.path);
  if (!m) return undefined;
  for (const ext of MODEL_EXTENSIONS) {
    const candidate = recipe.with({ path: `${m[1]}${ext}` });
    try {
      await vscode.workspace.fs.stat(candidate);
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export class RecipeModels {
  /** By model URI; the model file's mtime decides when it is read again. */
  private readonly cache = new Map<string, { mtime: number; model: Promise<RecipeModel | undefined> }>();

  constructor(private readonly provider: ModelEditorProvider, private readonly log: vscode.LogOutputChannel) {}

  /** The model of a recipe, or undefined when the recipe has none beside it or it cannot be read. */
  async forRecipe(recipe: vscode.Uri): Promise<RecipeModel | undefined> {
    const uri = await modelForRecipe(recipe);
    return uri ? this.load(uri) : undefined;
  }

  async load(uri: vscode.Uri): Promise<RecipeModel | undefined> {
    const open = [...this.provider.editors].find((r) => r.document.uri.toString() === uri.toString());
    if (open) {
      await open.document.loaded;
      const g = open.document.state.kind === 'loaded' ? open.document.state.graph : undefined;
      return g ? index(uri, g) : undefined;
    }
    let mtime = 0;
    try {
      mtime = (await vscode.workspace.fs.stat(uri)).mtime;
    } catch {
      return undefined;
    }
    const key = uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.mtime === mtime) return hit.model;
    const model = this.read(uri);
    this.cache.set(key, { mtime, model });
    return model;
  }

  private async read(uri: vscode.Uri): Promise<RecipeModel | undefined> {
    const worker = new ModelWorkerClient();
    try {
      const opened = uri.scheme === 'file'
        ? await worker.call('open', { path: uri.fsPath })
        : await worker.call('open', { bytes: await vscode.workspace.fs.readFile(uri), name: uri.path });
      return opened.graph ? index(uri, opened.graph) : undefined;
    } catch (e) {
      this.log.warn(`Recipe features: cannot read ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    } finally {
      void worker.terminate();
    }
  }
}

function index(uri: vscode.Uri, graph: GraphView): RecipeModel {
  const byName = new Map<string, GvNode>();
  for (const n of graph.nodes) if (n.kind === 'op') byName.set(n.name, n);
  // Constant-only nodes the view folded into their consumers: known, with the tensor they compute.
  graph.tensors.forEach((t, i) => {
    const c = t.computedBy;
    if (c && !byName.has(c.name)) byName.set(c.name, { id: -1, name: c.name, opType: c.opType, domain: '', kind: 'op', group: 0, inputs: [], outputs: [i], attrs: c.attrs });
  });
  return { uri, graph, byName };
}

/** Why a node cannot run at `precision`, or undefined when it can. */
export function precisionProblem(node: GvNode, precision: Precision): string | undefined {
  if ((precision === 'int8' || precision === 'int16') && !OP_SPECS[node.opType]) {
    return `${node.opType} has no ${precision} form in onnxruntime's QDQ format: "${node.name}" stays float.`;
  }
  return undefined;
}

/** "float32 [1,64,56,56]" for a tensor of the view. */
export function tensorText(graph: GraphView, index: number): string {
  const t = graph.tensors[index];
  if (!t) return '—';
  const shape = t.shape === null ? '?' : `[${t.shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
  return `${t.dtype} ${shape}`;
}

/** Parameter count of a node: the elements of its constant inputs (weights, biases). */
export function parameterCount(graph: GraphView, node: GvNode): number {
  let n = 0;
  for (const i of node.inputs) {
    const t = graph.tensors[i];
    if (!t?.constant || !t.shape || t.shape.some((d) => typeof d !== 'number')) continue;
    n += (t.shape as number[]).reduce((a, b) => a * b, 1);
  }
  return n;
}
