/**
 * How the graph view groups models: flat up to FLAT_MAX, by structure beyond (stages between
 * downsamplings, blocks, repeats), never by index ranges; constant-only nodes folded into their
 * consumers. References: python3-onnx for light_resnet50, the generator's own layer size.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, FLAT_MAX, type GraphView } from '../../src/core/graphView';
import type { Graph, Model, Node, Value } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { SYSTEM_PYTHON, sharedModel } from '../helpers/paths';

const NUMERIC_RANGE = /^\d+\s*[–-]\s*\d+/;

function memberCount(v: GraphView, g: number): number {
  return v.groups[g].groups.length + v.groups[g].nodes.length;
}

/** A scope-less ResNet-like CNN: stem (strided conv, pool), then stages of residual blocks whose first block downsamples. */
function resnetLike(stages: number, blocksPerStage: number): Model {
  const nodes: Node[] = [];
  const values = new Map<string, Value>();
  const v = (name: string): string => {
    if (!values.has(name)) values.set(name, { name, type: { dtype: 'float32', shape: null }, consumers: [] });
    return name;
  };
  let k = 0;
  const op = (opType: string, inputs: string[], strides = 1): string => {
    const out = v(`t${k}`);
    const attributes: Node['attributes'] = opType === 'Conv' || opType === 'MaxPool'
      ? [{ name: 'kernel_shape', value: { type: 'ints', value: [3, 3] } }, { name: 'strides', value: { type: 'ints', value: [strides, strides] } }]
      : [];
    nodes.push({ name: `${opType}_${k}`, opType, domain: '', inputs: inputs.map(v), outputs: [out], attributes, subgraphs: [] });
    k++;
    return out;
  };
  let x = op('Relu', [op('Conv', ['input'], 2)]);
  x = op('MaxPool', [x], 2);
  for (let s = 0; s < stages; s++) {
    for (let b = 0; b < blocksPerStage; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const a = op('Relu', [op('Conv', [x], stride)]);
      const c = op('Conv', [a]);
      const short = b === 0 && s > 0 ? op('Conv', [x], stride) : x;
      x = op('Relu', [op('Add', [c, short])]);
    }
  }
  nodes.forEach((n, i) => n.inputs.forEach((t) => values.get(t)!.consumers.push(i)));
  nodes.forEach((n, i) => n.outputs.forEach((t) => (values.get(t)!.producer = i)));
  const graph: Graph = { name: 'resnet_like', nodes, values, inputs: ['input'], outputs: [x], initializers: [] };
  return { format: 'onnx', fileSize: 0, producer: '', formatVersion: 8, opsets: [], description: '', metadata: {}, graphs: [graph], functions: [], signatures: [] };
}

describe('scope-less models', () => {
  test('light_resnet50: the 239 ConstantOfShape nodes fold into their consumers; the other 176 show flat in the root', async () => {
    const file = sharedModel('onnx', 'onnx-light', 'light_resnet50.onnx');
    const ref = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
g = onnx.load(sys.argv[1]).graph
print(json.dumps([[n.name, n.op_type, list(n.input), list(n.output)] for n in g.node]))`, file], { encoding: 'utf8' })) as [string, string, string[], string[]][];
    const view = buildGraphView(await openModelFile(file));
    const consts = ref.filter((n) => n[1] === 'ConstantOfShape');
    assert.equal(consts.length, 239);
    assert.equal(view.constFolded, consts.length);
    assert.equal(view.opCount, ref.length - consts.length);
    assert.deepEqual(view.nodes.filter((n) => n.kind === 'op').map((n) => n.name), ref.filter((n) => n[1] !== 'ConstantOfShape').map((n) => n[0]));
    // Each folded node is named on the tensor its consumers read, and draws no edge.
    for (const [name, , , outs] of consts) {
      const t = view.tensors.find((x) => x.name === outs[0]);
      assert.ok(t, outs[0]);
      // (The reader names an unnamed node by its op type and index.)
      assert.equal(t.computedBy?.name, name || `ConstantOfShape_${ref.findIndex((n) => n[3][0] === outs[0])}`);
      assert.equal(t.computedBy?.opType, 'ConstantOfShape');
      assert.equal(t.constant, true);
      assert.equal(t.producer, -1);
    }
    assert.ok(view.groups.every((g) => !g.synthetic), 'no structural groups at this size');
    assert.ok(view.nodes.filter((n) => n.group === 0).length >= 170, 'the ops sit in the root, flat');
  });

  test('a scope-less transformer above FLAT_MAX is grouped in repeats of one layer, never by index ranges', () => {
    const view = buildGraphView(syntheticTransformer(2000, { scopes: false }));
    assert.ok(2000 > FLAT_MAX);
    for (const g of view.groups) {
      assert.ok(!NUMERIC_RANGE.test(g.label), `index-range label '${g.label}'`);
      assert.ok(memberCount(view, g.id) <= 64, `${g.label} has ${memberCount(view, g.id)}`);
    }
    const repeats = view.groups.filter((g) => /^repeat \d+$/.test(g.label));
    assert.ok(repeats.length >= 30, `${repeats.length} repeats`);
    // A repeat holds one encoder layer of the generator (all but the last, which may be cut short).
    const sizes = repeats.slice(0, -1).map((g) => g.size);
    assert.deepEqual(new Set(sizes), new Set([BLOCK_SIZE]));
    // Every node is in exactly one group, its own.
    const listed = new Map<number, number>();
    for (const g of view.groups) for (const n of g.nodes) listed.set(n, g.id);
    assert.equal(listed.size, view.nodes.length);
    for (const n of view.nodes) assert.equal(listed.get(n.id), n.group);
  });

  test('a scope-less CNN above the flat size is grouped in stages between downsamplings, residual blocks inside', () => {
    const model = resnetLike(4, 3);
    const view = buildGraphView(model, { flatMax: 16, chunk: 8 });
    const top = view.groups[0].groups.map((g) => view.groups[g].label);
    assert.deepEqual(top.filter((l) => l.startsWith('stage')), ['stage 1', 'stage 2', 'stage 3', 'stage 4', 'stage 5']);
    // Each stage after the stem starts with a strided conv: its first node in graph order downsamples.
    const firstNode = (g: number): number => {
      const gr = view.groups[g];
      return Math.min(...gr.nodes, ...gr.groups.map(firstNode));
    };
    for (const g of view.groups[0].groups.slice(1)) assert.match(view.nodes[firstNode(g)].keyAttrs ?? '', /\/2/, view.groups[g].label);
    // A residual block's convs, Add and Relu stay together in one group.
    const add = [...view.nodes].reverse().find((n) => n.opType === 'Add')!;
    const block = view.groups[add.group];
    assert.deepEqual(block.opMix.map(([op]) => op).sort(), ['Add', 'Conv', 'Relu']);
    for (const g of view.groups) assert.ok(!NUMERIC_RANGE.test(g.label), g.label);
  });

  test('below the flat size nothing is grouped: mobilenetv2-12-int8 (75 nodes) is one flat root', async () => {
    const view = buildGraphView(await openModelFile(sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx')));
    assert.equal(view.groups.length, 1);
    assert.equal(view.groups[0].nodes.length, view.nodes.length);
    // A QOperator model: its boundary QuantizeLinear / DequantizeLinear form no foldable pair.
    assert.ok((view.qdqCount ?? 0) > 0);
    assert.equal(view.qdqFoldable, 0);
  });
});

describe('scoped models', () => {
  test('a scope with more members than FLAT_MAX is split into runs named by their ends (layer.0 … layer.N)', () => {
    const view = buildGraphView(syntheticTransformer(400 * BLOCK_SIZE));
    const enc = view.groups.find((g) => g.path === '/encoder')!;
    const runs = enc.groups.map((g) => view.groups[g]);
    assert.ok(runs.length >= 2 && runs.length <= 64);
    for (const r of runs) {
      assert.ok(r.synthetic);
      assert.match(r.label, /^layer\.\d+ … layer\.\d+$/);
    }
    assert.equal(runs[0].label.split(' … ')[0], 'layer.0');
    assert.equal(runs[runs.length - 1].label.split(' … ')[1], 'layer.399');
  });
});
