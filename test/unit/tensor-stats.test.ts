/** Reading constants on request and their statistics, against hand-worked values and numpy. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Constant } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { readConstantValues, tensorStats } from '../../src/core/tensor';
import { SAMPLE_MODEL, SYSTEM_PYTHON } from '../helpers/paths';

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

test('stats of a small float tensor, worked by hand', async () => {
  const c: Constant = { name: 't', dtype: 'float32', shape: [2, 4], data: { kind: 'bytes', bytes: f32([0, 1, 2, 3, 0, 4, NaN, Infinity]) } };
  const s = await tensorStats(c, { bins: 4 });
  assert.equal(s.count, 8);
  assert.equal(s.nanCount, 1);
  assert.equal(s.infCount, 1);
  assert.equal(s.min, 0);
  assert.equal(s.max, 4);
  assert.ok(Math.abs(s.mean - 10 / 6) < 1e-12);
  // population std of [0,1,2,3,0,4]: mean 5/3, sum of squares 30 -> var = 30/6 - 25/9
  assert.ok(Math.abs(s.std - Math.sqrt(30 / 6 - 25 / 9)) < 1e-12);
  assert.equal(s.zeros, 2);
  assert.equal(s.sparsity, 2 / 8);
  assert.equal(s.uniqueCount, 5);
  // bins of width 1 over [0,4]: [0,1) {0,0}, [1,2) {1}, [2,3) {2}, [3,4] {3,4}
  assert.deepEqual(s.histogram.counts, [2, 1, 1, 2]);
});

test('int4 values unpack low nibble first, from any start element', async () => {
  // elements: 1, -2, 7, -8, 0 packed two per byte, low nibble first
  const bytes = new Uint8Array([0x01 | (0xe << 4), 0x07 | (0x8 << 4), 0x00]);
  const c: Constant = { name: 'q', dtype: 'int4', shape: [5], data: { kind: 'bytes', bytes } };
  assert.deepEqual(await readConstantValues(c), [1, -2, 7, -8, 0]);
  assert.deepEqual(await readConstantValues(c, 1, 3), [-2, 7, -8]);
  assert.deepEqual(await readConstantValues(c, 3), [-8, 0]);
});

test('file-backed constants are read lazily and chunked; multi-chunk stats match the closed form', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-stats-'));
  const n = 3_000_001; // spans three 1M-element chunks plus one
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = i % 7;
  const file = path.join(dir, 'w.bin');
  const header = Buffer.from('HEADER__');
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(a.buffer)]));
  const c: Constant = { name: 'w', dtype: 'float32', shape: [n], data: { kind: 'file', path: file, offset: header.length, length: n * 4 } };
  const s = await tensorStats(c, { bins: 7 });
  // i % 7 over 0..n-1: full cycles of 0..6 plus the remainder
  const cycles = Math.floor(n / 7);
  const rem = n % 7;
  const perValue = Array.from({ length: 7 }, (_, v) => cycles + (v < rem ? 1 : 0));
  const mean = perValue.reduce((acc, k, v) => acc + k * v, 0) / n;
  const variance = perValue.reduce((acc, k, v) => acc + k * (v - mean) ** 2, 0) / n;
  assert.equal(s.count, n);
  assert.ok(Math.abs(s.mean - mean) < 1e-9);
  assert.ok(Math.abs(s.std - Math.sqrt(variance)) < 1e-9);
  assert.deepEqual(s.histogram.counts, perValue);
  assert.equal(s.uniqueCount, 7);
  assert.equal(s.zeros, perValue[0]);
  assert.deepEqual(await readConstantValues(c, 10, 4), [3, 4, 5, 6]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a truncated file-backed constant gives a clear error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-stats-'));
  const file = path.join(dir, 'short.bin');
  fs.writeFileSync(file, Buffer.alloc(10));
  const c: Constant = { name: 'w', dtype: 'float32', shape: [100], data: { kind: 'file', path: file, offset: 0, length: 400 } };
  await assert.rejects(tensorStats(c), /Tensor 'w'.*ends before its data/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('mnist-12 weights: stats equal numpy on the same initializers (python3-onnx)', async () => {
  const model = await openModelFile(SAMPLE_MODEL);
  const g = model.graphs[0];
  const script = `
import json, sys, onnx, numpy as np
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
out = {}
for t in m.graph.initializer:
    a = numpy_helper.to_array(t).astype(np.float64).ravel()
    if a.size == 0: continue
    out[t.name] = dict(min=float(a.min()), max=float(a.max()), mean=float(a.mean()), std=float(a.std()), zeros=int((a == 0).sum()), unique=int(np.unique(a).size), count=int(a.size))
print(json.dumps(out))
`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', script, SAMPLE_MODEL], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(r.stdout) as Record<string, { min: number; max: number; mean: number; std: number; zeros: number; unique: number; count: number }>;
  assert.ok(Object.keys(ref).length >= 8);
  for (const [name, e] of Object.entries(ref)) {
    const c = g.values.get(name)?.constant;
    assert.ok(c, `initializer ${name} is in the graph model`);
    const s = await tensorStats(c);
    assert.equal(s.count, e.count, name);
    assert.equal(s.min, e.min, name);
    assert.equal(s.max, e.max, name);
    assert.ok(Math.abs(s.mean - e.mean) <= 1e-9 * Math.max(1, Math.abs(e.mean)), `${name} mean ${s.mean} vs ${e.mean}`);
    assert.ok(Math.abs(s.std - e.std) <= 1e-9 * Math.max(1, e.std), `${name} std ${s.std} vs ${e.std}`);
    assert.equal(s.zeros, e.zeros, name);
    assert.equal(s.uniqueCount, e.unique, name);
  }
});
