/**
 * onnxruntime's messages reach the user whole: they name the node and the reason late, sometimes
 * after a line break, and a message cut at a length or a line lost that part.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createSession, ortMessage } from '../../src/core/runtime/ort';
import { SYSTEM_PYTHON } from '../helpers/paths';

test('every line and every character of an onnxruntime message is kept', () => {
  const long = `${'x'.repeat(600)} node 'conv_7' (Conv)`;
  const e = new Error(`Load model failed:\n  ${long}\n  input shape = {1, 3}\n`);
  assert.equal(ortMessage(e), `Load model failed: ${long} input shape = {1, 3}`);
});

test('a load error from onnxruntime itself arrives with its whole text', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ort-'));
  try {
    // a tensor declared rank 0 where a Transpose needs rank 2: onnxruntime names both at the end
    const file = path.join(dir, 'bad.onnx');
    const py = `
import onnx
from onnx import helper as h, TensorProto as T
g = h.make_graph([h.make_node('Squeeze', ['x'], ['sq']), h.make_node('Transpose', ['sq'], ['y'], perm=[1, 0])], 'g',
  [h.make_tensor_value_info('x', T.FLOAT, ['N', 4, 6])], [h.make_tensor_value_info('y', T.FLOAT, None)],
  value_info=[h.make_tensor_value_info('sq', T.FLOAT, [])])
open(${JSON.stringify(file)}, 'wb').write(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]).SerializeToString())
`;
    const r = spawnSync(SYSTEM_PYTHON, ['-c', py], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const err = await createSession(file).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'onnxruntime loaded a model whose Transpose cannot take its input');
    const own = (err.cause as Error).message;
    assert.match(own, /Invalid attribute perm \{1, 0\}, input shape/);
    assert.equal(err.message, `onnxruntime cannot load the model: ${ortMessage(err.cause)}`);
    assert.ok(err.message.includes(own.replace(/\s*\n\s*/g, ' ').trim()));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
