/**
 * The precision marks' edit model and the sidecar recipe: edits are their own inverse, an intent
 * that changes nothing is no edit, saving keeps the rest of a recipe, backups are validated.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MarkSet, markLabel, planSummary, unknownMarks } from '../../src/core/marks/marks';
import { parseBackup, readSidecarPlan, serializeBackup, sidecarPath, writeSidecarPlan } from '../../src/core/marks/sidecar';
import { parseRecipe } from '../../src/core/quant/recipe';

describe('MarkSet', () => {
  test('one intent is one edit that records what it replaced; undo and redo restore each state exactly', () => {
    const m = new MarkSet({ a: 'int8', b: 'float' });
    const e = m.set(['a', 'b', 'c'], 'int16');
    assert.ok(e);
    assert.equal(e.label, 'Set 3 layers to int16');
    assert.deepEqual(e.changes, [
      { node: 'a', before: 'int8', after: 'int16' },
      { node: 'b', before: 'float', after: 'int16' },
      { node: 'c', before: undefined, after: 'int16' },
    ]);
    assert.deepEqual(m.toPlan(), { a: 'int16', b: 'int16', c: 'int16' });
    m.apply(e, 'undo');
    assert.deepEqual(m.toPlan(), { a: 'int8', b: 'float' });
    m.apply(e, 'redo');
    assert.deepEqual(m.toPlan(), { a: 'int16', b: 'int16', c: 'int16' });
  });

  test('nodes that already have the precision are left out of the edit; an intent that changes nothing is no edit', () => {
    const m = new MarkSet({ a: 'int16' });
    const e = m.set(['a', 'b', 'b'], 'int16');
    assert.deepEqual(e?.changes, [{ node: 'b', before: undefined, after: 'int16' }]);
    assert.equal(e?.label, 'Set b to int16');
    assert.equal(m.set(['a', 'b'], 'int16'), undefined);
    assert.equal(m.set(['zzz'], undefined), undefined, 'clearing an unmarked node changes nothing');
  });

  test('clearing marks, and replacing the whole plan (an external change), are undoable edits', () => {
    const m = new MarkSet({ a: 'int8', b: 'fp16' });
    const clear = m.set(['a', 'b'], undefined);
    assert.equal(clear?.label, 'Clear 2 marks');
    assert.deepEqual(m.toPlan(), {});
    m.apply(clear!, 'undo');
    const r = m.replaceAll({ b: 'fp16', c: 'skip' }, 'Recipe changed on disk');
    assert.deepEqual(r?.changes, [
      { node: 'a', before: 'int8', after: undefined },
      { node: 'c', before: undefined, after: 'skip' },
    ]);
    assert.deepEqual(m.toPlan(), { b: 'fp16', c: 'skip' });
    m.apply(r!, 'undo');
    assert.deepEqual(m.toPlan(), { a: 'int8', b: 'fp16' });
    assert.equal(m.replaceAll({ a: 'int8', b: 'fp16' }, 'same'), undefined);
  });

  test('counts and the status bar summary follow the precision order', () => {
    const m = new MarkSet({ x: 'float', y: 'int8', z: 'int8', w: 'int16' });
    assert.deepEqual(m.counts(), [['int8', 2], ['int16', 1], ['float', 1]]);
    assert.equal(planSummary(m.counts()), 'int8 ×2, int16 ×1, float ×1');
    assert.equal(planSummary(new MarkSet().counts()), undefined);
    assert.equal(markLabel([{ node: 'n' }], undefined), 'Clear the mark on n');
  });

  test('marks naming nodes the model no longer has are reported', () => {
    assert.deepEqual(unknownMarks({ b: 'int8', a: 'int8', gone: 'float' }, new Set(['a', 'b'])), ['gone']);
  });
});

describe('sidecar recipe', () => {
  test('lives beside the model with the model stem', () => {
    assert.equal(sidecarPath('/w/models/mnist-12.onnx'), '/w/models/mnist-12.quantlens.json');
    assert.equal(sidecarPath('/w/a.b/model'), '/w/a.b/model.quantlens.json');
    assert.equal(sidecarPath('/w/.hidden'), '/w/.hidden.quantlens.json');
  });

  test('saving replaces only the plan: every other field and its order stay; the result is a valid recipe', () => {
    const existing = JSON.stringify({ version: 1, mode: 'static', calibration: { data: 'x.npy', limit: 50 }, perChannel: true, plan: { old: 'int8' } }, null, 2);
    const out = writeSidecarPlan(existing, { b: 'int16', a: 'float' }, 'test');
    const v = JSON.parse(out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['version', 'mode', 'calibration', 'perChannel', 'plan']);
    assert.deepEqual(v.calibration, { data: 'x.npy', limit: 50 });
    assert.deepEqual(Object.keys(v.plan as object), ['a', 'b'], 'plan keys sorted');
    assert.deepEqual(parseRecipe(out).plan, { a: 'float', b: 'int16' });
    assert.deepEqual(readSidecarPlan(out, 'test'), { a: 'float', b: 'int16' });
  });

  test('without a recipe a minimal static one is written; a broken recipe is not overwritten', () => {
    assert.deepEqual(JSON.parse(writeSidecarPlan(undefined, { n: 'int8' }, 't')), { version: 1, mode: 'static', plan: { n: 'int8' } });
    assert.throws(() => writeSidecarPlan('{ "version": 1, "mode": "sideways" }', {}, "'r.json'"), /mode.*must be one of/);
    assert.throws(() => writeSidecarPlan('{ not json', {}, "'r.json'"), /not valid JSON/);
  });

  test('backups round-trip and malformed ones are refused with the reason', () => {
    const b = { version: 1 as const, modelSha256: 'ab12', plan: { n: 'fp16' as const } };
    assert.deepEqual(parseBackup(serializeBackup(b)), b);
    assert.throws(() => parseBackup('nope'), /not JSON/);
    assert.throws(() => parseBackup('{"version":2}'), /malformed/);
    assert.throws(() => parseBackup('{"version":1,"modelSha256":"x","plan":{"n":"int3"}}'), /unknown precision "int3"/);
  });
});
