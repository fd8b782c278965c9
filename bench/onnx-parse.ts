/**
 * ONNX open benchmark: a synthetic ~1 GB model (16 initializers of 64 MB) and a synthetic
 * 50,000-node graph, written to os.tmpdir() and deleted afterwards. Measures a sequential read of
 * the file (baseline), the time to open it to a ready graph (and summary), and the heap growth.
 * Targets from the issue: 1 GB opens in <= 1 s with <= 150 MB heap growth; 50k nodes in <= 2 s.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { onnx } from '../src/core/generated/onnx/onnx';
import { readOnnx } from '../src/core/formats/onnx/reader';
import { summarize } from '../src/core/summary';

const MB = 2 ** 20;

function header(num: number, len: number): Uint8Array {
  const out: number[] = [];
  for (let v of [num * 8 + 2, len]) {
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
  }
  return Uint8Array.from(out);
}

/** Writes a model whose graph holds `count` float initializers of `tensorBytes` each, chained by Adds. */
function writeBigModel(file: string, count: number, tensorBytes: number): number {
  const elems = tensorBytes / 4;
  const payload = new Uint8Array(tensorBytes);
  for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;
  const small = onnx.GraphProto.encode({
    name: 'big',
    input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: elems }] } } } }],
    output: [{ name: `y${count - 1}`, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: elems }] } } } }],
    node: Array.from({ length: count }, (_, i) => ({ opType: 'Add', input: [i ? `y${i - 1}` : 'x', `w${i}`], output: [`y${i}`], name: `add${i}` })),
  }).finish();
  const tensors = Array.from({ length: count }, (_, i) => {
    const head = onnx.TensorProto.encode({ name: `w${i}`, dataType: 1, dims: [elems] }).finish();
    const raw = header(9, tensorBytes);
    return { head, raw, len: head.length + raw.length + tensorBytes };
  });
  const graphLen = small.length + tensors.reduce((a, t) => a + header(5, t.len).length + t.len, 0);
  const top = onnx.ModelProto.encode({ irVersion: 8, producerName: 'bench', opsetImport: [{ domain: '', version: 17 }] }).finish();
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, top);
    fs.writeSync(fd, header(7, graphLen));
    fs.writeSync(fd, small);
    for (const t of tensors) {
      fs.writeSync(fd, header(5, t.len));
      fs.writeSync(fd, t.head);
      fs.writeSync(fd, t.raw);
      fs.writeSync(fd, payload);
    }
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

/** A chain of `n` nodes cycling through a few op types, with a small initializer every 10 nodes. */
function writeManyNodes(file: string, n: number): number {
  const ops = ['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg'];
  const node: onnx.NodeProto.$Properties[] = [];
  const initializer: onnx.TensorProto.$Properties[] = [];
  let prev = 'x';
  for (let i = 0; i < n; i++) {
    const out = `/block.${Math.floor(i / 100)}/v${i}`;
    if (i % 10 === 9) {
      initializer.push({ name: `c${i}`, dataType: 1, dims: [1, 16], rawData: new Uint8Array(64) });
      node.push({ opType: 'Add', input: [prev, `c${i}`], output: [out], name: `/block.${Math.floor(i / 100)}/Add_${i}` });
    } else {
      node.push({ opType: ops[i % ops.length], input: [prev], output: [out], name: `/block.${Math.floor(i / 100)}/Op_${i}` });
    }
    prev = out;
  }
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'many',
      node,
      initializer,
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 16 }] } } } }],
      output: [{ name: prev, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 16 }] } } } }],
    },
  }).finish();
  fs.writeFileSync(file, bytes);
  return bytes.length;
}

function readSequentially(file: string): number {
  const t0 = performance.now();
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 * MB);
  let pos = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (!n) break;
    pos += n;
  }
  fs.closeSync(fd);
  return performance.now() - t0;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function measureOpen(file: string): Promise<{ ms: number; heapMB: number; nodes: number }> {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const model = await readOnnx({ kind: 'file', path: file });
  const s = summarize(model);
  const ms = performance.now() - t0;
  gc();
  const heapMB = (process.memoryUsage().heapUsed - heap0) / MB;
  // Keep the model alive until after the measurement.
  if (!model.graphs[0]) throw new Error('no graph');
  return { ms, heapMB, nodes: s.nodeCount };
}

export async function benchOnnxParse(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-onnx-'));
  try {
    const big = path.join(dir, 'big.onnx');
    const bigSize = writeBigModel(big, 16, 64 * MB);
    const bigRead = readSequentially(big);
    await measureOpen(big); // warm-up: module loading and JIT are not the parser's cost
    const bigOpen = await measureOpen(big);
    fs.rmSync(big);

    const many = path.join(dir, 'many.onnx');
    const manySize = writeManyNodes(many, 50_000);
    const manyRead = readSequentially(many);
    await measureOpen(many);
    const manyOpen = await measureOpen(many);
    if (manyOpen.nodes !== 50_000) throw new Error(`expected 50000 nodes, got ${manyOpen.nodes}`);

    return {
      big_fileMB: bigSize / MB,
      big_sequentialReadMs: bigRead,
      big_openMs: bigOpen.ms,
      big_openToReadRatio: bigOpen.ms / bigRead,
      big_heapGrowthMB: bigOpen.heapMB,
      big_withinTargets: bigOpen.ms <= 1000 && bigOpen.heapMB <= 150 ? 1 : 0,
      nodes50k_fileMB: manySize / MB,
      nodes50k_sequentialReadMs: manyRead,
      nodes50k_openMs: manyOpen.ms,
      nodes50k_openToReadRatio: manyOpen.ms / manyRead,
      nodes50k_heapGrowthMB: manyOpen.heapMB,
      nodes50k_withinTarget: manyOpen.ms <= 2000 ? 1 : 0,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
