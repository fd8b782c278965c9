/** Evaluation inputs: label formats, and one clear message for each kind of bad input; cancellation. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateModels, readLabels } from '../../src/core/eval';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const MNIST = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
const IMAGES = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const LABELS = path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-eval-'));
const file = (name: string, text: string): string => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p; };

test('labels: file-name TSV with a header picks the named column; CSV and JSON lists; JSON by name; IDX', async () => {
  const tsv = await readLabels(file('l.tsv', 'file\tclass_index\twnid\na.JPEG\t3\tn01\nsub/b.JPEG\t10\tn02\n'));
  assert.deepEqual([...tsv.byName!], [['a.JPEG', [3]], ['b.JPEG', [10]]]);
  const tsvNoHeader = await readLabels(file('m.tsv', 'a.png\tn01\t7\n'));
  assert.deepEqual([...tsvNoHeader.byName!], [['a.png', [7]]]);
  assert.deepEqual((await readLabels(file('l.csv', 'label\n1\n2\n0\n'))).list, [[1], [2], [0]]);
  assert.deepEqual((await readLabels(file('t.csv', '0.5,1\n2,3\n'))).list, [[0.5, 1], [2, 3]]);
  assert.deepEqual((await readLabels(file('l.json', '[1, [2, 3]]'))).list, [[1], [2, 3]]);
  assert.deepEqual([...(await readLabels(file('n.json', '{"x/a.png": 4}'))).byName!], [['a.png', [4]]]);
  const idx = await readLabels(LABELS);
  assert.equal(idx.list!.length, 200);
  assert.deepEqual(idx.list!.slice(0, 5), [[7], [2], [1], [0], [4]]);
  await assert.rejects(readLabels(file('bad.csv', '1\nx\n')), /line 2: "x" is not a row of numbers/);
  await assert.rejects(readLabels(path.join(dir, 'missing.tsv')), /Labels .*missing\.tsv do not exist/);
});

test('labels that do not match the data count: one message naming both counts', async () => {
  await assert.rejects(evaluateModels(MNIST, undefined, { data: IMAGES, labels: file('few.csv', '7\n2\n1\n') }),
    /The labels do not match the data: .*few\.csv has 3 labels, but the data has more than 3 samples/);
  const many = file('many.json', JSON.stringify(Array.from({ length: 250 }, () => 1)));
  await assert.rejects(evaluateModels(MNIST, undefined, { data: IMAGES, labels: many }),
    /The labels do not match the data: .*many\.json has 250 labels, the data .*mnist-200-images-idx3-ubyte\.gz has 200 samples/);
  // a limit that stops before the end of the data cannot tell: only what is read is checked
  const r = await evaluateModels(MNIST, undefined, { data: IMAGES, labels: many, limit: 20, bootstrap: { resamples: 50 } });
  assert.equal(r.samples, 20);
});

test('a quantized model whose inputs differ from the float one, and data of the wrong shape, are refused with one message', async () => {
  const mobilenet = sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx');
  await assert.rejects(evaluateModels(MNIST, mobilenet, { data: IMAGES }),
    /The quantized model .*mobilenetv2-12-int8\.onnx does not take the float model's inputs: input "Input3" is missing; it has an extra input "input"\./);
  await assert.rejects(evaluateModels(mobilenet, undefined, { data: IMAGES }), /Input "input" expects float32\[batch_size,3,224,224\] but .* holds/);
  await assert.rejects(evaluateModels(MNIST, undefined, { data: IMAGES, labels: file('cls.csv', Array.from({ length: 200 }, () => '12').join('\n')) }),
    /Label \[12\] of sample 0 is not a class of output "Plus214_Output_0" \(0\.\.9\)/);
});

test('cancellation: an abort during the run rejects with an AbortError', async () => {
  const ac = new AbortController();
  await assert.rejects(evaluateModels(MNIST, MNIST, {
    data: IMAGES, signal: ac.signal, onProgress: (p) => { if ((p.done ?? 0) >= 10) ac.abort(); },
  }), { name: 'AbortError' });
});
