/**
 * Cost models against hand-worked numbers: MACs of Conv (plain and depthwise), ConvTranspose,
 * Gemm and MatMul (symbolic batch counts 1) from their shapes; weight counts (bias left out);
 * plan cost in weight bytes and in bit-operations (MACs x weight bits x activation bits).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { layerCostInfos, macsOf, planCost, type LayerCostInfo } from '../../src/core/eval/cost';
import type { Dim, Graph, Node, Value } from '../../src/core/model';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attrs: Record<string, number> = {}): Node => ({
  name, opType, domain: '', inputs, outputs, subgraphs: [],
  attributes: Object.entries(attrs).map(([n, v]) => ({ name: n, value: { type: 'int' as const, value: v } })),
});

const SHAPES: Record<string, Dim[]> = {
  x: [1, 3, 8, 8], w: [4, 3, 3, 3], b: [4], c: [1, 4, 8, 8],
  dww: [4, 1, 3, 3], dw: [1, 4, 8, 8],
  flat: [1, 16], fcw: [10, 16], fcb: [10], logits: [1, 10],
  seq: ['N', 5, 6], mw: [6, 7], mm: ['N', 5, 7],
  r: [1, 4, 8, 8],
  tin: [1, 2, 4, 4], tw: [2, 3, 2, 2], tout: [1, 3, 8, 8],
};
const CONSTANTS = ['w', 'b', 'dww', 'fcw', 'fcb', 'mw', 'tw'];

function graph(): Graph {
  const values = new Map<string, Value>();
  for (const [name, shape] of Object.entries(SHAPES)) {
    const constant = CONSTANTS.includes(name) ? { name, dtype: 'float32' as const, shape: shape as number[], data: { kind: 'bytes' as const, bytes: new Uint8Array(0) } } : undefined;
    values.set(name, { name, type: { dtype: 'float32', shape }, consumers: [], ...(constant ? { constant } : {}) } as Value);
  }
  return {
    name: 'g', values, inputs: ['x'], outputs: ['logits'], initializers: CONSTANTS,
    nodes: [
      node('conv', 'Conv', ['x', 'w', 'b'], ['c']),
      node('dw', 'Conv', ['c', 'dww'], ['dw'], { group: 4 }),
      node('relu', 'Relu', ['dw'], ['r']),
      node('fc', 'Gemm', ['flat', 'fcw', 'fcb'], ['logits'], { transB: 1 }),
      node('mm', 'MatMul', ['seq', 'mw'], ['mm']),
      node('up', 'ConvTranspose', ['tin', 'tw'], ['tout']),
    ],
  };
}
const shape = (t: string): Dim[] | null => SHAPES[t] ?? null;

test('MACs per op from shapes', () => {
  const g = graph();
  const macs = Object.fromEntries(g.nodes.map((n) => [n.name, macsOf(n, shape)]));
  // conv: 4*8*8 = 256 outputs x 3*3*3 = 27 MACs each
  assert.equal(macs.conv, 6912);
  // depthwise: 256 outputs x 1*3*3
  assert.equal(macs.dw, 2304);
  assert.equal(macs.relu, 0);
  // Gemm 1x16 by 16x10: 10 outputs x K 16
  assert.equal(macs.fc, 160);
  // MatMul N x 5 x 6 by 6 x 7, N counted 1: 35 outputs x 6
  assert.equal(macs.mm, 210);
  // ConvTranspose: 2*4*4 = 32 inputs, each feeding 3 x 2*2 outputs
  assert.equal(macs.up, 384);
  assert.equal(macsOf(node('conv?', 'Conv', ['x', 'w'], ['unknown']), shape), 0, 'unknown output shape: 0, not NaN');
});

test('layer facts: weights without the bias; plan cost in bytes and bit-operations', () => {
  const layers: LayerCostInfo[] = layerCostInfos(graph(), ['conv', 'dw', 'relu', 'fc', 'mm'], shape);
  assert.deepEqual(layers.map((l) => [l.node, l.weights, l.macs]), [['conv', 108, 6912], ['dw', 36, 2304], ['relu', 0, 0], ['fc', 160, 160], ['mm', 42, 210]]);
  // all int8: 108 + 36 + 160 + 42 = 346 bytes
  assert.equal(planCost(layers, {}, 'size'), 346);
  // conv int16 (216), fc float (640), dw fp16 (72), mm int8 (42)
  assert.equal(planCost(layers, { conv: 'int16', fc: 'float', dw: 'fp16' }, 'size'), 216 + 640 + 72 + 42);
  // all int8: (6912 + 2304 + 160 + 210) MACs x 64
  assert.equal(planCost(layers, {}, 'bops'), 9586 * 64);
  // conv int16: 6912 x 256; fc float: 160 x 1024; dw, mm int8: (2304 + 210) x 64
  assert.equal(planCost(layers, { conv: 'int16', fc: 'float' }, 'bops'), 6912 * 256 + 160 * 1024 + 2514 * 64);
  assert.deepEqual(layerCostInfos(graph(), ['gone'], shape), [{ node: 'gone', opType: '?', weights: 0, macs: 0 }]);
});
