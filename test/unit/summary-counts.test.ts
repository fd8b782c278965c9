/**
 * inspect's counts on models that keep weights in Constant nodes (PaddlePaddle exports) and that
 * hold subgraphs: parameters in Constant nodes are counted, and the node count says how many nodes
 * sit in the main graph and how many in how many subgraphs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openModelFile } from '../../src/core/open';
import { describeNodeCount, describeParameters, summarize } from '../../src/core/summary';
import { SYSTEM_PYTHON } from '../helpers/paths';

test('weights in Constant nodes are parameters; subgraph nodes are told apart from the subgraph count', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-summary-'));
  try {
    const file = path.join(dir, 'm.onnx');
    const py = `
import numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
w = nh.from_array(np.ones((4, 3), dtype=np.float32), 'w')
then_g = h.make_graph([h.make_node('Relu', ['y'], ['a']), h.make_node('Neg', ['a'], ['b'])], 't', [], [h.make_tensor_value_info('b', T.FLOAT, [2, 3])])
else_g = h.make_graph([h.make_node('Identity', ['y'], ['c'])], 'e', [], [h.make_tensor_value_info('c', T.FLOAT, [2, 3])])
g = h.make_graph([
  h.make_node('Constant', [], ['W'], value=w),
  h.make_node('MatMul', ['x', 'W'], ['y']),
  h.make_node('If', ['cond'], ['z'], then_branch=then_g, else_branch=else_g),
], 'g', [h.make_tensor_value_info('x', T.FLOAT, [2, 4]), h.make_tensor_value_info('cond', T.BOOL, [])],
  [h.make_tensor_value_info('z', T.FLOAT, [2, 3])], [nh.from_array(np.zeros(5, dtype=np.float32), 'unused')])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), ${JSON.stringify(file)})
`;
    const r = spawnSync(SYSTEM_PYTHON, ['-c', py], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const s = summarize(await openModelFile(file));
    assert.equal(s.constantNodeCount, 1);
    assert.equal(s.initializerCount, 1);
    assert.equal(s.parameterCount, 12 + 5);
    assert.equal(describeParameters(s), '17 in 1 initializer and 1 Constant node');
    assert.equal(s.nodeCount, 6);
    assert.equal(s.mainGraphNodeCount, 3);
    assert.equal(s.subgraphNodeCount, 3);
    assert.equal(s.subgraphCount, 2);
    assert.equal(describeNodeCount(s), '6 (3 in the main graph, 3 in 2 subgraphs)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
