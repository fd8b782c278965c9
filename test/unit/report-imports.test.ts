/**
 * Imports of other tools' per-layer results, each from a small hand-written file in the tool's real
 * format, matched to a real model's nodes; names that match nothing are reported; bad input gets
 * a message naming the file and the problem.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { openModelFile } from '../../src/core/open';
import { importResultsFile, importResultsText, nodeIndex, ResultsFileError, type NodeIndex } from '../../src/core/report';
import { REPO_ROOT, SAMPLE_MODEL, sharedModel } from '../helpers/paths';

const FIX = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
let mnist: NodeIndex;
let ad01: NodeIndex;
before(async () => {
  mnist = nodeIndex(await openModelFile(SAMPLE_MODEL));
  ad01 = nodeIndex(await openModelFile(sharedModel('tflite', 'mlperf-tiny', 'anomaly_detection', 'trained_models', 'ad01_int8.tflite')));
});

/** The error is a ResultsFileError whose message matches (assert.throws' own RegExp check reads 'Name: message'). */
const fails = (re: RegExp) => (e: unknown): boolean => e instanceof ResultsFileError && re.test(e.message);
const metricsOf = (r: { layers: { node: string; metrics: Record<string, number> }[] }) => Object.fromEntries(r.layers.map((l) => [l.node, l.metrics]));

test('onnxruntime qdq_loss_debug activation errors (json.dump, with Infinity and NaN) land on the nodes producing the tensors', () => {
  const r = importResultsFile(path.join(FIX, 'ort-activation-error.json'), mnist);
  assert.deepEqual(metricsOf(r), {
    Convolution28: { qdqSqnrDb: 42.5, sqnrDb: 40.25 },
    ReLU32: { qdqSqnrDb: Infinity, sqnrDb: 38.75 },
    Pooling66: { qdqSqnrDb: 41.0 },
    Plus214: { qdqSqnrDb: 35.5, sqnrDb: 31.0 },
  });
  assert.equal(r.layers.find((l) => l.node === 'Convolution28')?.opType, 'Conv');
  assert.deepEqual(r.unmatched.map((u) => u.name), ['renamed_by_optimizer']);
  assert.equal(r.sources[0].tool, 'onnxruntime qdq_loss_debug');
  assert.match(r.warnings.join('\n'), /1 name\(s\) match no node/);
});

test('onnxruntime qdq_loss_debug weight errors land on the node reading the weight', () => {
  const r = importResultsFile(path.join(FIX, 'ort-weight-error.json'), mnist);
  assert.deepEqual(metricsOf(r), { Convolution28: { weightSqnrDb: 42.82 }, Convolution110: { weightSqnrDb: 40.1 }, Times212_reshape1: { weightSqnrDb: 39.5 } });
  assert.deepEqual(r.unmatched.map((u) => u.name), ['ghost_weight']);
});

test('bad qdq_loss_debug input: the message names the file and the problem', () => {
  assert.throws(() => importResultsText('{"a": {"qdq_err": 1}, "b": {"xmodel_err": "x"}}', 'errs.json', mnist, { format: 'ort-qdq-loss' }),
    (e: Error) => e instanceof ResultsFileError && /^errs\.json: entry "b" is not \{"qdq_err"/.test(e.message));
  assert.throws(() => importResultsText('{"a": {"qdq_err": 1,}', 'broken.json', mnist, { format: 'ort-qdq-loss' }), fails(/^broken\.json: not valid JSON/));
});

test('TFLite QuantizationDebugger CSV: rows matched by tensor_name, rmse/scale derived, a quoted name with a comma reported unmatched', () => {
  const r = importResultsFile(path.join(FIX, 'tflite-layer-stats.csv'), ad01);
  assert.equal(r.layers.length, 3);
  const first = r.layers[0];
  assert.equal(first.node, 'functional_1/activation/Relu;functional_1/dense/BiasAdd');
  assert.equal(first.opType, 'FULLY_CONNECTED');
  assert.deepEqual(Object.keys(first.metrics).sort(), ['maxAbsError', 'meanError', 'mse', 'rmseOverScale', 'stddev']);
  assert.equal(first.metrics.mse, 0.000535);
  assert.ok(Math.abs(first.metrics.rmseOverScale - Math.sqrt(0.000535) / 0.0801) < 1e-12);
  assert.equal(r.layers[2].metrics.maxAbsError, 0.9117);
  assert.deepEqual(r.unmatched.map((u) => u.name), ['not, a tensor of this model']);
});

test('bad TFLite debugger CSV: missing tensor_name column, a non-number, a short row', () => {
  assert.throws(() => importResultsText('op_name,tensor_idx,stddev\nCONV_2D,1,0.1\n', 'stats.csv', ad01, { format: 'tflite-debugger' }), fails(/^stats\.csv: no "tensor_name" column/));
  const head = 'op_name,tensor_idx,num_elements,stddev,mean_error,max_abs_error,mean_squared_error,scale,zero_point,tensor_name\n';
  assert.throws(() => importResultsText(`${head}FULLY_CONNECTED,8,128,abc,0,0,0,0.1,0,x\n`, 'stats.csv', ad01, { format: 'tflite-debugger' }), fails(/^stats\.csv: line 2: stddev is 'abc', not a number/));
  assert.throws(() => importResultsText(`${head}FULLY_CONNECTED,8,128\n`, 'stats.csv', ad01, { format: 'tflite-debugger' }), fails(/^stats\.csv: line 2 has 3 fields, the header 10/));
});

test('Model Explorer node data: keys matched as node ids or output tensor names, the metric from its name', () => {
  const r = importResultsFile(path.join(FIX, 'model-explorer-node-data.json'), mnist);
  assert.deepEqual(metricsOf(r), { Convolution28: { sqnrDb: 45.2 }, ReLU32: { sqnrDb: 43.3 }, Times212: { sqnrDb: 39.5 } });
  assert.deepEqual(r.unmatched.map((u) => u.name), ['no_such_node']);
});

test('bad Model Explorer node data: a result without value; an unknown format', () => {
  assert.throws(() => importResultsText('{"g": {"results": {"Convolution28": {"val": 1}}}}', 'nd.json', mnist), fails(/^nd\.json: result "Convolution28" of graph "g" has no "value"/));
  assert.throws(() => importResultsText('[1, 2]', 'what.json', mnist), fails(/^what\.json: not a format QuantLens imports/));
  assert.throws(() => importResultsFile(path.join(FIX, 'missing.json'), mnist), (e: Error) => e.message.startsWith(path.join(FIX, 'missing.json')) && /ENOENT/.test(e.message));
  assert.ok(fs.existsSync(path.join(FIX, 'model-explorer-node-data.json')));
});
