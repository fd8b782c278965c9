/**
 * Test helpers for TFLite: flatc (an independent encoder/decoder) and LiteRT.js.
 *
 * Runs .tflite models in LiteRT.js (@litertjs/core, Google's TFLite runtime compiled to wasm) under
 * plain Node, for tests only.
 *
 * LiteRT.js is written for browsers. Two shims make it work here without touching node_modules:
 * - globals: `self`, and `importScripts` (its loader's path for workers), which we implement by
 *   evaluating the Emscripten glue with Node's `require`, so the wasm is read from
 *   node_modules/@litertjs/core/wasm (no network). WebGPU is absent, so only the 'wasm' (XNNPack/CPU)
 *   accelerator is used.
 * - dtypes: its JS Tensor class only knows float32/int32/uint8 (the MANIFEST's "one-line patch"
 *   added int8). Instead of patching, we drive the wasm bindings it exposes (loadModel,
 *   compileModel, LiteRtTensorBuffer, CompiledModel.run) directly with raw bytes, which works for
 *   every element type the runtime supports (int8, int16, ...).
 */
import { mulberry32 } from '../../src/core/random';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as flexbuffers from 'flatbuffers/js/flexbuffers.js';
import { REPO_ROOT } from './paths';

const WASM_DIR = path.join(REPO_ROOT, 'node_modules', '@litertjs', 'core', 'wasm');

/** LiteRT element types (litert_model_types.h), as exposed by the wasm module. */
export const ELEMENT_TYPES: Record<number, string> = {
  0: 'none', 1: 'float32', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool', 7: 'int16',
  8: 'complex64', 9: 'int8', 10: 'float16', 11: 'float64', 12: 'complex128', 13: 'uint64',
  14: 'resource', 15: 'variant', 16: 'uint32', 17: 'uint16', 18: 'int4', 19: 'bfloat16',
};

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface RunOutput extends TensorInfo {
  data: Uint8Array;
}

export interface RunResult {
  inputs: TensorInfo[];
  outputs: RunOutput[];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Wasm = any;

interface Loaded {
  wasm: Wasm;
  env: any;
  logs: string[];
}

let loading: Promise<Loaded> | undefined;

function installGlobals(logs: string[]): void {
  const g = globalThis as any;
  g.self ??= g;
  // Captures the runtime's log lines; errors quote the last few.
  g.Module = { print: (s: string) => pushLog(logs, s), printErr: (s: string) => pushLog(logs, s) };
  const nodeRequire = createRequire(__filename);
  g.importScripts = (url: string | URL) => {
    const s = String(url);
    const file = s.startsWith('file:') ? new URL(s).pathname : s;
    const code = fs.readFileSync(file, 'utf8');
    const mod: { exports: unknown } = { exports: {} };
    // The Emscripten glue is UMD: given module/exports it exports its factory and, seeing Node,
    // reads the .wasm beside it with fs.
    new Function('module', 'exports', 'require', '__filename', '__dirname', code)(mod, mod.exports, nodeRequire, file, path.dirname(file));
    g.ModuleFactory = mod.exports;
  };
}

function pushLog(logs: string[], s: string): void {
  logs.push(s);
  if (logs.length > 200) logs.splice(0, logs.length - 200);
}

/** Loads the LiteRT.js wasm once per process. */
export function loadLiteRtForTests(): Promise<Loaded> {
  loading ??= (async () => {
    const logs: string[] = [];
    installGlobals(logs);
    const core: any = await import('@litertjs/core');
    const warn = console.warn;
    console.warn = () => undefined; // "Failed to create default WebGPU device": expected in Node
    try {
      const lrt = await core.loadLiteRt(WASM_DIR + path.sep);
      return { wasm: lrt.liteRtWasm, env: lrt.getDefaultEnvironment(), logs };
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}

function vec<T>(v: any): T[] {
  const out: T[] = [];
  try {
    for (let i = 0; i < v.size(); i++) out.push(v.get(i));
  } finally {
    v.delete();
  }
  return out;
}

function describe(e: unknown, logs: string[], from: number): Error {
  const errs = logs.slice(from).filter((l) => /ERROR|rror/.test(l) && !/^\s*└/.test(l));
  const base = e instanceof Error ? e.message : typeof e === 'number' ? `wasm exception ${e}` : String(e);
  const detail = errs.map((l) => l.replace(/^ERROR: \[[^\]]*\]\s*/, '')).filter(Boolean).slice(-2).join(' / ');
  return new Error(detail ? `${base.split('\n')[0]}: ${detail}` : base.split('\n')[0]);
}

/**
 * Loads, compiles and runs signature 0 of a model once. `makeInput` gives each input's bytes (its
 * size is fixed by the model). Throws an Error with LiteRT's own message when it cannot.
 */
export async function runLiteRt(modelBytes: Uint8Array, makeInput: (info: TensorInfo, index: number) => Uint8Array): Promise<RunResult> {
  const { wasm, env, logs } = await loadLiteRtForTests();
  const logStart = logs.length;
  const cleanup: (() => void)[] = [];
  try {
    const ptr = wasm._malloc(modelBytes.length);
    cleanup.push(() => wasm._free(ptr));
    wasm.HEAPU8.set(modelBytes, ptr);
    const model = wasm.loadModel(env.liteRtEnvironment, ptr, modelBytes.length);
    cleanup.push(() => model.delete());
    const compiled = await wasm.compileModel(env.liteRtEnvironment, model, {
      environment: env,
      accelerator: 'wasm',
      cpuOptions: { numThreads: 1 },
      gpuOptions: {},
      webNNOptions: {},
    });
    cleanup.push(() => compiled.delete());
    const sig = model.getSignature(0);
    const inNames = vec<string>(sig.inputNames());
    const outNames = vec<string>(sig.outputNames());
    sig.delete();

    const inputs: TensorInfo[] = [];
    const buffers: any[] = [];
    for (let i = 0; i < inNames.length; i++) {
      const tt = model.getInputTensorType(0, i);
      const layout = tt.layout();
      const shape = vec<number>(layout.dimensions());
      layout.delete();
      const info: TensorInfo = { name: inNames[i], dtype: ELEMENT_TYPES[tt.elementType().value] ?? 'unknown', shape, bytes: tt.bytes() };
      inputs.push(info);
      const data = makeInput(info, i);
      if (data.length !== info.bytes) throw new Error(`input ${i} needs ${info.bytes} bytes, got ${data.length}`);
      const tb = wasm.LiteRtTensorBuffer.createManaged(env.liteRtEnvironment, wasm.LiteRtTensorBufferType.HOST_MEMORY, tt, info.bytes);
      tt.delete();
      cleanup.push(() => tb.delete());
      const p = tb.lock(wasm.LiteRtTensorBufferLockMode.WRITE);
      try {
        wasm.HEAPU8.set(data, p);
      } finally {
        tb.unlock();
      }
      buffers.push(tb);
    }

    const outBuffers: any[] = await compiled.run(0, buffers);
    const outputs: RunOutput[] = [];
    for (let i = 0; i < outBuffers.length; i++) {
      const ob = outBuffers[i];
      cleanup.push(() => ob.delete());
      const tt = ob.tensorType();
      const layout = tt.layout();
      const shape = vec<number>(layout.dimensions());
      layout.delete();
      const dtype = ELEMENT_TYPES[tt.elementType().value] ?? 'unknown';
      tt.delete();
      const p = ob.lock(wasm.LiteRtTensorBufferLockMode.READ);
      let data: Uint8Array;
      try {
        data = wasm.HEAPU8.slice(p, p + ob.packedSize());
      } finally {
        ob.unlock();
      }
      outputs.push({ name: outNames[i] ?? `output_${i}`, dtype, shape, bytes: data.length, data });
    }
    return { inputs, outputs };
  } catch (e) {
    throw describe(e, logs, logStart);
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        c();
      } catch {
        /* already gone with its owner */
      }
    }
  }
}

/** Mulberry32: a tiny seeded PRNG so inputs (and failures) reproduce. */
export const prng = mulberry32;

/** Deterministic input bytes for a tensor: floats in [-1, 1), small ints, full-range bytes. */
export function deterministicInput(info: TensorInfo, seed: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(info.bytes);
  const dv = new DataView(out.buffer);
  switch (info.dtype) {
    case 'float32':
      for (let i = 0; i + 4 <= out.length; i += 4) dv.setFloat32(i, rnd() * 2 - 1, true);
      break;
    case 'int32':
      for (let i = 0; i + 4 <= out.length; i += 4) dv.setInt32(i, Math.floor(rnd() * 4), true);
      break;
    case 'int64':
      for (let i = 0; i + 8 <= out.length; i += 8) dv.setBigInt64(i, BigInt(Math.floor(rnd() * 4)), true);
      break;
    case 'bool':
      for (let i = 0; i < out.length; i++) out[i] = rnd() < 0.5 ? 0 : 1;
      break;
    default:
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 256);
  }
  return out;
}

// ---- flatc: an independent TFLite encoder/decoder for fixtures and references ----------------

/** The schema Debian's flatc 2.0.8 can parse (see src/core/generated/tflite/SOURCE.md). */
export const TFLITE_SCHEMA = path.join(REPO_ROOT, 'src', 'core', 'generated', 'tflite', 'schema_flatc2.fbs');
export const FLATC = process.env.FLATC ?? 'flatc';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ql-flatc-'));
}

/** flatc's own JSON view of a .tflite (strict JSON, defaults omitted). */
export function flatcToJson(tflite: Uint8Array | string): any {
  const dir = tmpDir();
  try {
    let file: string;
    if (typeof tflite === 'string') file = tflite;
    else {
      file = path.join(dir, 'model.tflite');
      fs.writeFileSync(file, tflite);
    }
    execFileSync(FLATC, ['--json', '--strict-json', '--raw-binary', '-o', dir, TFLITE_SCHEMA, '--', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = path.join(dir, path.basename(file).replace(/\.[^.]*$/, '') + '.json');
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A .tflite built by flatc from JSON (names for enums and union types, as flatc prints them). */
export function flatcFromJson(json: unknown): Uint8Array {
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify(json));
    execFileSync(FLATC, ['-b', '-o', dir, TFLITE_SCHEMA, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(fs.readFileSync(path.join(dir, 'model.tflite')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same model made loadable by LiteRT.js 2.5.3, through flatc only (independent of our reader
 * and writer): dynamic dims fixed (shape_signature dropped: its RankedTensorType refuses -1) and
 * quantized_dimension values past a tensor's rank reset to 0 (person_detect has them; LiteRT
 * refuses them). Applied to an original and to its rewrite alike.
 */
export function litertCompatible(tflite: Uint8Array): Uint8Array {
  const m = flatcToJson(tflite);
  for (const sg of m.subgraphs ?? []) {
    for (const t of sg.tensors ?? []) {
      delete t.shape_signature;
      const q = t.quantization;
      if (q && (q.quantized_dimension ?? 0) >= (t.shape?.length ?? 0)) delete q.quantized_dimension;
    }
  }
  return flatcFromJson(m);
}

// ---- a hand-written fixture model ---------------------------------------------------------------
// A TFLite model in flatc's JSON form, built into a .tflite by flatc itself (an encoder independent
// of ours). It exercises what the corpus lacks: several subgraphs, signatures, custom ops,
// per-channel and per-tensor quantization, variable, string, sparse and dynamic-shape tensors,
// duplicate and empty names, both operator-code styles, and text and binary metadata.

export const CUSTOM_OPTIONS = { alpha: 3, mode: 'fast', taps: [1, 2, 3], gain: 0.5, on: true };

export const CONV_WEIGHTS = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12]; // int8 [4,1,1,3]
export const CONV_BIAS = [100, -200, 300, -400]; // int32 [4]
export const LABELS = ['cat', 'dog', 'zebra ü'];

function le32(values: number[]): number[] {
  const out: number[] = [];
  for (const v of values) out.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  return out;
}

/** TFLite's string-tensor layout: count, count+1 offsets, bytes. */
export function stringBuffer(values: string[]): number[] {
  const enc = values.map((s) => [...new TextEncoder().encode(s)]);
  const header = 4 * (values.length + 2);
  const offsets: number[] = [];
  let pos = header;
  for (const e of enc) {
    offsets.push(pos);
    pos += e.length;
  }
  offsets.push(pos);
  return [...le32([values.length]), ...le32(offsets), ...enc.flat()];
}

const text16 = (s: string): number[] => {
  const b = [...new TextEncoder().encode(s)];
  while (b.length < 16) b.push(0);
  return b;
};

export const SPARSE_VALUES = [7, 8, 9]; // int8 values of a 3x4 CSR matrix

export function fixtureJson(): Record<string, unknown> {
  return {
    version: 3,
    description: 'QuantLens unit fixture',
    operator_codes: [
      { deprecated_builtin_code: 3, version: 3 }, // CONV_2D, pre-3a style (no builtin_code)
      { deprecated_builtin_code: 127, builtin_code: 'GELU', version: 2 }, // code 150, 3a style
      { deprecated_builtin_code: 32, builtin_code: 'CUSTOM', custom_code: 'MyCustomOp' },
      { deprecated_builtin_code: 119, builtin_code: 'WHILE' },
      { deprecated_builtin_code: 58, builtin_code: 'LESS' },
      {}, // ADD: both codes 0
      { deprecated_builtin_code: 9, builtin_code: 'FULLY_CONNECTED', version: 4 },
    ],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [1, 2, 2, 3], shape_signature: [-1, 2, 2, 3], has_rank: true },
          {
            name: 'conv/w', type: 'INT8', shape: [4, 1, 1, 3], buffer: 1, has_rank: true,
            quantization: { scale: [0.5, 0.25, 0.125, 2], zero_point: [0, 0, 0, 0], quantized_dimension: 0 },
          },
          {
            name: 'conv/b', type: 'INT32', shape: [4], buffer: 2, has_rank: true,
            quantization: { scale: [0.1, 0.2, 0.3, 0.4], zero_point: [0, 0, 0, 0] },
          },
          {
            name: 'y', type: 'INT8', shape: [1, 1, 1, 4], has_rank: true,
            quantization: { scale: [0.05], zero_point: [-3], min: [-6.25], max: [6.5] },
          },
          { name: '', type: 'FLOAT32', shape: [1, 1, 1, 4], has_rank: true },
          { name: 'y', type: 'FLOAT32', shape: [1, 1, 1, 4], has_rank: true },
          { name: 'state', type: 'FLOAT32', shape: [1, 4], is_variable: true, has_rank: true },
          { name: 'labels', type: 'STRING', shape: [3], buffer: 3, has_rank: true },
          {
            name: 'sparse_w', type: 'INT8', shape: [3, 4], buffer: 4, has_rank: true,
            sparsity: {
              traversal_order: [0, 1],
              dim_metadata: [
                { format: 'DENSE', dense_size: 3 },
                {
                  format: 'SPARSE_CSR',
                  array_segments_type: 'Uint8Vector', array_segments: { values: [0, 1, 1, 3] },
                  array_indices_type: 'Uint8Vector', array_indices: { values: [2, 0, 3] },
                },
              ],
            },
          },
          { name: 'loop_out', type: 'FLOAT32', shape: [1, 4], has_rank: true },
          { name: 'fc_out', type: 'FLOAT32', shape: [1, 3], has_rank: true },
          { name: 'range_only', type: 'FLOAT32', shape: [1, 4], has_rank: true, quantization: { min: [-1], max: [1] } },
          { name: 'unknown_rank', type: 'FLOAT32' },
        ],
        inputs: [0],
        outputs: [3, 9, 10],
        operators: [
          {
            opcode_index: 0, inputs: [0, 1, 2], outputs: [3],
            builtin_options_type: 'Conv2DOptions',
            builtin_options: { padding: 'VALID', stride_w: 2, stride_h: 2, fused_activation_function: 'RELU6' },
          },
          { opcode_index: 1, inputs: [3], outputs: [5], builtin_options_type: 'GeluOptions', builtin_options: { approximate: true } },
          {
            opcode_index: 2, inputs: [5, -1], outputs: [4],
            custom_options: [...flexbuffers.encode(CUSTOM_OPTIONS)],
          },
          {
            opcode_index: 3, inputs: [6], outputs: [9],
            builtin_options_type: 'WhileOptions', builtin_options: { cond_subgraph_index: 1, body_subgraph_index: 2 },
          },
          {
            opcode_index: 6, inputs: [9, 8, -1], outputs: [10],
            builtin_options_type: 'FullyConnectedOptions',
            builtin_options: { fused_activation_function: 'NONE', keep_num_dims: false, weights_format: 'DEFAULT' },
          },
        ],
      },
      {
        name: 'cond',
        tensors: [
          { name: 'a', type: 'FLOAT32', shape: [1, 4], has_rank: true },
          { name: 'limit', type: 'FLOAT32', shape: [], buffer: 5, has_rank: true },
          { name: 'less', type: 'BOOL', shape: [1, 4], has_rank: true },
        ],
        inputs: [0],
        outputs: [2],
        operators: [{ opcode_index: 4, inputs: [0, 1], outputs: [2] }],
      },
      {
        tensors: [
          { name: 'a', type: 'FLOAT32', shape: [1, 4], has_rank: true },
          { name: 'one', type: 'FLOAT32', shape: [], buffer: 6, has_rank: true },
          { name: 'a_plus', type: 'FLOAT32', shape: [1, 4], has_rank: true },
        ],
        inputs: [0],
        outputs: [2],
        operators: [{ opcode_index: 5, inputs: [0, 1], outputs: [2], builtin_options_type: 'AddOptions', builtin_options: {} }],
      },
    ],
    buffers: [
      {},
      { data: CONV_WEIGHTS.map((v) => v & 255) },
      { data: le32(CONV_BIAS) },
      { data: stringBuffer(LABELS) },
      { data: SPARSE_VALUES },
      { data: [0, 0, 0x20, 0x41] }, // 10.0f
      { data: [0, 0, 0x80, 0x3f] }, // 1.0f
      { data: text16('1.14.0') },
      { data: [1, 2, 3, 0, 255] },
    ],
    metadata: [
      { name: 'min_runtime_version', buffer: 7 },
      { name: 'blob', buffer: 8 },
    ],
    signature_defs: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'image', tensor_index: 0 }],
        outputs: [{ name: 'logits', tensor_index: 3 }, { name: 'loop', tensor_index: 9 }],
      },
    ],
  };
}
