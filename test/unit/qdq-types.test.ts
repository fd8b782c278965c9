/**
 * Types and shapes of QuantizeLinear / DequantizeLinear outputs, inferred when the file does not
 * declare them. The reference is onnxruntime: the same tensors made graph outputs and computed.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readOnnx, writeOnnx } from '../../src/core/formats/onnx';
import { onnx } from '../../src/core/generated/onnx/onnx';
import { formatType, mainGraph, type Graph, type Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { withExtraOutputs } from '../../src/core/quant/preprocess';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';

const TP = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-qdq-types-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `model` with `names` added as outputs; returns each one's onnxruntime type and dims. */
async function ortTypes(model: Model, names: string[], feeds: Record<string, { dtype: 'float32'; dims: number[] }>): Promise<Map<string, string>> {
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(writeOnnx(withExtraOutputs(model, names)));
  const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [name, f] of Object.entries(feeds)) {
    const n = f.dims.reduce((a, b) => a * b, 1);
    inputs[name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => (i % 17) / 4), f.dims);
  }
  const out = await session.run(inputs, names);
  await session.release();
  return new Map(names.map((n) => [n, `${out[n].type}[${out[n].dims.join(',')}]`]));
}

/** Names of value_info entries that declare a type, in the file itself. */
function declaredValueInfo(bytes: Uint8Array): string[] {
  const g = onnx.ModelProto.decode(bytes).graph!;
  return (g.valueInfo ?? []).filter((v) => v.type).map((v) => v.name ?? '');
}

test('a QuantLens-written QDQ mnist-12: every Q/DQ output and every Conv/Gemm input has the type onnxruntime computes', async () => {
  const out = path.join(dir, 'mnist-int8.onnx');
  await quantizeModel(SAMPLE_MODEL, out, {
    recipe: { version: 1, mode: 'static', perChannel: true, calibration: { data: path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz'), limit: 32 } },
    baseDir: REPO_ROOT,
  });
  const model = await openModelFile(out);
  const g = mainGraph(model);
  const names = new Set<string>();
  for (const n of g.nodes) {
    if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') names.add(n.outputs[0]);
    if (n.opType === 'Conv' || n.opType === 'Gemm') for (const i of n.inputs) if (i) names.add(i);
  }
  const qdqOutputs = g.nodes.filter((n) => n.opType === 'DequantizeLinear' || n.opType === 'QuantizeLinear').length;
  assert.ok(qdqOutputs >= 8, `the quantized model has Q/DQ nodes (${qdqOutputs})`);
  // The file declares none of the Q outputs and few of the DQ outputs: the types below are inferred.
  const declared = new Set(declaredValueInfo(fs.readFileSync(out)));
  const undeclared = [...names].filter((n) => !declared.has(n) && !g.values.get(n)?.constant && !g.inputs.includes(n));
  assert.ok(undeclared.length >= 8, `most checked tensors are not declared in the file (${undeclared.length})`);

  const inputShape = g.values.get(g.inputs[0])!.type!.shape as number[];
  const reference = await ortTypes(model, [...names].filter((n) => !g.values.get(n)?.constant), { [g.inputs[0]]: { dtype: 'float32', dims: inputShape } });
  for (const [name, expected] of reference) {
    assert.equal(formatType(g.values.get(name)?.type ?? null), expected, name);
  }
});

test('inferred types stay out of the file: writing the model back adds no value_info', async () => {
  const src = path.join(dir, 'mnist-int8.onnx');
  const bytes = fs.readFileSync(src);
  const model = await openModelFile(src);
  assert.ok([...mainGraph(model).values.values()].some((v) => v.inferred), 'some types were inferred');
  assert.deepEqual(declaredValueInfo(writeOnnx(model)).sort(), declaredValueInfo(bytes).sort());
});

// --- a hand-built model: Q/DQ in an If branch reading an outer-scope input, Q without zero point,
// DQ with a float16 scale --------------------------------------------------------------------

function vi(name: string, elemType: number, dims: number[] | null): onnx.ValueInfoProto.$Properties {
  const tensorType: onnx.TypeProto.Tensor.$Properties = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => ({ dimValue: d })) };
  return { name, type: { tensorType } };
}

function scalar(name: string, dataType: number, raw: Uint8Array): onnx.TensorProto.$Properties {
  return { name, dataType, dims: [], rawData: raw };
}

function node(opType: string, inputs: string[], outputs: string[], attribute: onnx.AttributeProto.$Properties[] = []): onnx.NodeProto.$Properties {
  return { opType, input: inputs, output: outputs, attribute, name: outputs[0] };
}

function branchModel(): Uint8Array {
  const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);
  const f16half = new Uint8Array([0x00, 0x38]); // 0.5 in IEEE half precision
  const thenBranch: onnx.GraphProto.$Properties = {
    name: 'then',
    node: [node('QuantizeLinear', ['X', 's', 'zp'], ['q_then']), node('DequantizeLinear', ['q_then', 's', 'zp'], ['y_then'])],
    output: [vi('y_then', TP.FLOAT, null)],
  };
  const elseBranch: onnx.GraphProto.$Properties = {
    name: 'else',
    node: [node('QuantizeLinear', ['X', 's'], ['q_else']), node('DequantizeLinear', ['q_else', 's'], ['y_else'])],
    output: [vi('y_else', TP.FLOAT, null)],
  };
  const graph: onnx.GraphProto.$Properties = {
    name: 'qdq-branches',
    input: [vi('X', TP.FLOAT, [2, 3])],
    initializer: [
      scalar('s', TP.FLOAT, f32(0.5)), scalar('zp', TP.INT8, new Uint8Array([1])),
      scalar('s16', TP.FLOAT16, f16half), scalar('cond', TP.BOOL, new Uint8Array([1])),
    ],
    node: [
      node('If', ['cond'], ['Y'], [
        { name: 'then_branch', type: AT.GRAPH, g: thenBranch },
        { name: 'else_branch', type: AT.GRAPH, g: elseBranch },
      ]),
      node('QuantizeLinear', ['X', 's'], ['qm']),
      node('DequantizeLinear', ['qm', 's16'], ['dm16']),
    ],
    output: [{ name: 'Y' }, { name: 'qm' }, { name: 'dm16' }],
  };
  return onnx.ModelProto.encode({ irVersion: 10, opsetImport: [{ domain: '', version: 21 }], producerName: 'unit', graph }).finish();
}

test('Q/DQ types inside an If branch, without a zero point, and with a float16 scale', async () => {
  const bytes = branchModel();
  const model = await readOnnx({ kind: 'bytes', bytes });
  const g = mainGraph(model);
  // onnxruntime's view of the main graph's outputs (declared without types)
  const reference = await ortTypes(model, ['Y', 'qm', 'dm16'], { X: { dtype: 'float32', dims: [2, 3] } });
  for (const name of ['qm', 'dm16']) assert.equal(formatType(g.values.get(name)!.type), reference.get(name), name);
  assert.equal(reference.get('qm'), 'uint8[2,3]', 'QuantizeLinear without a zero point gives uint8');
  assert.equal(reference.get('dm16'), 'float16[2,3]', 'DequantizeLinear gives its scale\'s type');

  const [thenG, elseG] = (g.nodes[0].subgraphs) as [Graph, Graph];
  const typeIn = (sg: Graph, name: string) => formatType(sg.values.get(name)?.type ?? null);
  // X comes from the enclosing graph (float [2,3]); zp is int8 by construction; Y is the branch's result
  assert.equal(typeIn(thenG, 'q_then'), 'int8[2,3]');
  assert.equal(typeIn(thenG, 'y_then'), reference.get('Y'));
  assert.equal(typeIn(elseG, 'q_else'), 'uint8[2,3]');
  assert.equal(typeIn(elseG, 'y_else'), reference.get('Y'));

  // Written back, the file says what it said: the branch outputs keep their declared float type and
  // gain no shape; no value_info is added anywhere.
  const written = onnx.ModelProto.decode(writeOnnx(model)).graph!;
  const original = onnx.ModelProto.decode(bytes).graph!;
  const branches = (gp: onnx.IGraphProto) => gp.node![0].attribute!.map((a) => ({ output: a.g!.output, valueInfo: a.g!.valueInfo ?? [] }));
  assert.deepEqual(JSON.parse(JSON.stringify(branches(written))), JSON.parse(JSON.stringify(branches(original))));
  assert.deepEqual(written.output!.map((o) => o.type ?? null), original.output!.map((o) => o.type ?? null));
});
