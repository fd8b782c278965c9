/** The recipe: validation with clear errors, the JSON Schema agreeing with the code, ORT export. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ACTIVATION_TYPES, QUANT_MODES, WEIGHT_TYPES, exportOrtConfig, parseRecipe, recipeToJson, validateRecipe,
} from '../../src/core/quant/recipe';
import { CALIBRATION_METHODS } from '../../src/core/quant/calibrators';
import { PRECISIONS } from '../../src/core/quant/plan';
import { ModelError } from '../../src/core/errors';
import { REPO_ROOT } from '../helpers/paths';

const FULL = {
  version: 1, mode: 'static', activationType: 'int16', weightType: 'int8', perChannel: true,
  symmetricActivations: false, symmetricWeights: true, reduceRange: false,
  calibration: { data: 'data/mnist', method: 'percentile', percentile: 99.99, limit: 100, offset: 5, scale: '0-255' },
  preprocess: { fold: true }, defaultPrecision: 'int8', plan: { conv1: 'int16', fc: 'float', sm: 'skip' }, exclude: ['Softmax'],
};

test('a full recipe round-trips through JSON unchanged', () => {
  const r = validateRecipe(FULL);
  assert.deepEqual(JSON.parse(recipeToJson(r)), FULL);
  assert.deepEqual(parseRecipe(recipeToJson(r)), r);
});

test('bad recipes give one clear message naming the field', () => {
  const bad: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ mode: 'static' }, /"version".*must be 1/],
    [{ version: 1 }, /"mode".*required/],
    [{ version: 1, mode: 'static', activationType: 'int7' }, /"activationType".*int8, uint8, int16, uint16.*int7/],
    [{ version: 1, mode: 'static', plan: { a: 'int3' } }, /"plan"\["a"\].*int8, int16, fp16, float, skip/],
    [{ version: 1, mode: 'static', calibration: { method: 'kl' } }, /calibration.*method.*minmax/],
    [{ version: 1, mode: 'static', calibration: { limit: 0 } }, /limit.*integer/],
    [{ version: 1, mode: 'static', calibration: { data: 'x', synthetic: { count: 2 } } }, /cannot both be set/],
    [{ version: 1, mode: 'static', perChanel: true }, /unknown field "perChanel"/],
    [{ version: 1, mode: 'static', exclude: 'Conv' }, /"exclude".*array/],
  ];
  for (const [v, re] of bad) {
    assert.throws(() => validateRecipe(v), (e: unknown) => e instanceof ModelError && re.test(e.message), JSON.stringify(v));
  }
  assert.throws(() => parseRecipe('{"version": 1,', 'r.json'), /r\.json is not valid JSON/);
});

test('the JSON Schema lists the same choices as the code', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'recipe.schema.json'), 'utf8'));
  assert.match(schema.$schema, /draft\/2020-12/);
  const p = schema.properties;
  assert.deepEqual(p.mode.enum, [...QUANT_MODES]);
  assert.deepEqual(p.activationType.enum, [...ACTIVATION_TYPES]);
  assert.deepEqual(p.weightType.enum, [...WEIGHT_TYPES]);
  assert.deepEqual(p.calibration.properties.method.enum, [...CALIBRATION_METHODS]);
  assert.deepEqual(p.plan.additionalProperties.enum, [...PRECISIONS]);
  // every top-level field the validator accepts is in the schema, and no more
  const accepted = Object.keys(FULL).sort();
  assert.deepEqual(Object.keys(p).filter((k) => k !== '$schema').sort(), accepted);
  assert.deepEqual(Object.keys(p.calibration.properties).sort(), ['data', 'image', 'limit', 'method', 'movingAverage', 'offset', 'percentile', 'scale', 'synthetic']);
});

test('the onnxruntime export maps exclusions, int16 overrides and options', () => {
  const { config, python } = exportOrtConfig(validateRecipe(FULL));
  assert.deepEqual(config.nodes_to_exclude, ['fc', 'sm', 'Softmax']);
  assert.equal(config.per_channel, true);
  assert.equal(config.activation_type, 'QuantType.QInt16');
  assert.equal(config.calibrate_method, 'CalibrationMethod.Percentile');
  const extra = config.extra_options as Record<string, unknown>;
  assert.deepEqual(extra.TensorQuantOverrides, { conv1: [{ quant_type: 'QuantType.QInt16' }] });
  assert.equal(extra.CalibPercentile, 99.99);
  assert.match(python, /quantize_static\(/);
  assert.match(python, /nodes_to_exclude=\["fc","sm","Softmax"\]/);
  assert.match(python, /"WeightSymmetric": True/);
  assert.match(exportOrtConfig({ version: 1, mode: 'dynamic' }).python, /quantize_dynamic\(/);
});
