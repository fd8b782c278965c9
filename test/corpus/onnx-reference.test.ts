/**
 * Every ONNX model in the shared corpus opens, and what the reader sees (node counts of the main
 * graph and of all graphs incl. subgraphs and functions, input/output names, initializer counts)
 * equals what Debian's python3-onnx (an independent protobuf implementation) reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ONNX_TESTDATA, SHARED_MODELS, SYSTEM_PYTHON } from '../helpers/paths';
import { readOnnx } from '../../src/core/formats/onnx/reader';
import { allGraphs, type Model } from '../../src/core/model';

interface Facts {
  mainNodes: number;
  allNodes: number;
  graphs: number;
  inputs: string[];
  outputs: string[];
  initializers: number;
  allInitializers: number;
  functions: number;
}

const PY = String.raw`
import json, sys
import onnx

def walk_graph(g, acc):
    acc['graphs'] += 1
    acc['nodes'] += len(g.node)
    acc['inits'] += len(g.initializer) + len(g.sparse_initializer)
    for n in g.node:
        walk_nodes_attrs(n, acc)

def walk_nodes_attrs(n, acc):
    for a in n.attribute:
        if a.HasField('g'):
            walk_graph(a.g, acc)
        for sg in a.graphs:
            walk_graph(sg, acc)

out = {}
for path in json.load(sys.stdin):
    try:
        m = onnx.load(path, load_external_data=False)
    except Exception as e:
        out[path] = {'error': type(e).__name__ + ': ' + str(e)[:200]}
        continue
    g = m.graph
    acc = {'graphs': 0, 'nodes': 0, 'inits': 0}
    walk_graph(g, acc)
    for f in m.functions:
        acc['graphs'] += 1
        acc['nodes'] += len(f.node)
        for n in f.node:
            walk_nodes_attrs(n, acc)
    init_names = set(t.name for t in g.initializer) | set(t.values.name for t in g.sparse_initializer)
    out[path] = {
        'mainNodes': len(g.node),
        'allNodes': acc['nodes'],
        'graphs': acc['graphs'],
        'inputs': [i.name for i in g.input if i.name not in init_names],
        'outputs': [o.name for o in g.output],
        'initializers': len(g.initializer) + len(g.sparse_initializer),
        'allInitializers': acc['inits'],
        'functions': len(m.functions),
    }
json.dump(out, sys.stdout)
`;

function* onnxFiles(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* onnxFiles(p);
    else if (e.name.endsWith('.onnx')) yield p;
  }
}

function factsOf(m: Model): Facts {
  const g = m.graphs[0];
  let allNodes = 0;
  let graphs = 0;
  let allInitializers = 0;
  for (const x of allGraphs(m)) {
    graphs++;
    allNodes += x.nodes.length;
    allInitializers += x.initializers.length;
  }
  return {
    mainNodes: g.nodes.length,
    allNodes,
    graphs,
    inputs: g.inputs,
    outputs: g.outputs,
    initializers: g.initializers.length,
    allInitializers,
    functions: m.functions.length,
  };
}

async function compareWithPython(t: { diagnostic(msg: string): void }, label: string, root: string): Promise<void> {
  const files = [...onnxFiles(root)].sort();
  assert.ok(files.length > 0, `no .onnx files under ${root}`);
  const py = spawnSync(SYSTEM_PYTHON, ['-c', PY], { input: JSON.stringify(files), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(py.status, 0, `python3-onnx failed: ${py.stderr}`);
  const ref = JSON.parse(py.stdout) as Record<string, Facts | { error: string }>;
  let compared = 0;
  const unavailable: string[] = [];
  for (const file of files) {
    const model = await readOnnx({ kind: 'file', path: file });
    const r = ref[file];
    if (!r || 'error' in r) {
      unavailable.push(`${path.relative(root, file)}: ${r ? r.error : 'no answer'}`);
      continue;
    }
    assert.deepEqual(factsOf(model), r, `${file} differs from python3-onnx`);
    compared++;
  }
  for (const u of unavailable) t.diagnostic(`reference unavailable: ${u}`);
  console.log(`[onnx-reference] ${label}: files ${files.length}, compared ${compared}, reference unavailable ${unavailable.length}`);
  assert.ok(compared >= files.length * 0.9, 'python3-onnx should parse nearly all files');
}

test('every shared ONNX model opens and matches python3-onnx', async (t) => {
  await compareWithPython(t, 'shared models', SHARED_MODELS);
});

test("ONNX's backend test models open and match python3-onnx", async (t) => {
  await compareWithPython(t, 'libonnx-testdata', ONNX_TESTDATA);
});
