/**
 * The search against a measured function the test defines (layer a matters most, c is ranked
 * first but matters little): the bisection's steps, pruning that keeps the cheaper plan, the
 * lowest-cost passing plan rather than the first, promotion past int16 when only float helps,
 * the closest miss when nothing passes, the Pareto marks, the measurement cap and cancelling.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseBudget } from '../../src/core/eval/budget';
import { markPareto, searchPlan, type Plan, type SearchPoint } from '../../src/core/eval/autotuneSearch';
import type { LayerCostInfo } from '../../src/core/eval/cost';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const LAYERS: LayerCostInfo[] = NAMES.map((node) => ({ node, opType: 'Conv', weights: 1, macs: 1 }));
const RANKING = ['c', 'a', 'd', 'b', 'e', 'f'];

/** 20 dB, +10 with a promoted, +6 with b, +0.5 for each other promoted layer. */
const additive = (plan: Plan): number => 20 + (plan.a ? 10 : 0) + (plan.b ? 6 : 0) + 0.5 * Object.keys(plan).filter((n) => n !== 'a' && n !== 'b').length;

async function run(budget: string, sqnr: (p: Plan) => number, extra = {}) {
  const seen: Plan[] = [];
  const r = await searchPlan({
    ranking: RANKING, layers: LAYERS, budget: parseBudget(budget), cost: 'size',
    measure: async (plan) => { seen.push(plan); return { sqnr: sqnr(plan) }; }, ...extra,
  });
  return { r, seen };
}

test('gallops over the ranked prefix, prunes back, returns the cheapest passing plan (not the first)', async () => {
  const { r, seen } = await run('sqnr >= 30', additive);
  // baseline 20; every int16 38; top 1 (c) 20.5 fails; top 2 (c,a) 30.5 passes;
  // pruning: a back -> {c} (measured already), c back -> {a} 30 passes; {a}: a back -> {} (measured)
  assert.deepEqual(r.points.map((p) => [p.phase, p.promoted, p.values.sqnr, p.met]), [
    ['baseline', 0, 20, false], ['ceiling', 6, 38, true], ['bisect', 1, 20.5, false], ['bisect', 2, 30.5, true], ['prune', 1, 30, true],
  ]);
  assert.equal(seen.length, 5, 'a plan is measured once');
  assert.deepEqual(r.best.plan, { a: 'int16' });
  assert.equal(r.met, true);
  // sizes: 6 layers of 1 weight, int8 1 byte, int16 2
  assert.equal(r.best.cost, 7);
  // front: {} (6, 20), {a} (7, 30), top 2 (8, 30.5), all (12, 38); top 1 (7, 20.5) is beaten by {a}
  assert.deepEqual(r.points.filter((p) => p.pareto).map((p) => p.step), [1, 2, 4, 5]);
});

test('bisects between the last count that missed and the first that met', async () => {
  // every promoted layer adds 2 dB: 3 layers are needed for 26 dB
  const { r } = await run('sqnr >= 26', (p) => 20 + 2 * Object.keys(p).length);
  assert.deepEqual(r.points.map((p) => [p.phase, p.promoted, p.met]), [
    ['baseline', 0, false], ['ceiling', 6, true], ['bisect', 1, false], ['bisect', 2, false], ['bisect', 4, true], ['bisect', 3, true],
    ['prune', 2, false], ['prune', 2, false],
  ]);
  // pruning d gives top 2, measured already: only {c, d} and {a, d} are new
  assert.deepEqual(r.points.slice(-2).map((p) => p.label), ['a back to int8', 'c back to int8']);
  assert.deepEqual(r.best.plan, { c: 'int16', a: 'int16', d: 'int16' });
});

test('goes past int16 when only float helps, and prunes each layer down level by level', async () => {
  // a helps only as float; int16 on a helps nothing; every other promoted layer adds 0.25
  const sqnr = (p: Plan): number => 20 + (p.a === 'float' ? 12 : 0) + 0.25 * Object.keys(p).filter((n) => n !== 'a').length;
  const { r } = await run('sqnr >= 32', sqnr);
  const ceilings = r.points.filter((p) => p.phase === 'ceiling').map((p) => [p.label, p.met]);
  assert.deepEqual(ceilings, [['every layer int16', false], ['every layer fp16', false], ['every layer float', true]]);
  assert.deepEqual(r.best.plan, { a: 'float' });
  assert.equal(r.best.values.sqnr, 32);
  // pruning tried c back to int8 (cheapest first in the ranking order, least sensitive first)
  assert.ok(r.points.some((p) => p.phase === 'prune' && p.label === 'c back to int8'));
});

test('a budget nothing meets: the closest plan, not met, with every step on the curve', async () => {
  const { r } = await run('sqnr >= 100', additive);
  assert.equal(r.met, false);
  assert.equal(r.best.met, false);
  // the three ceilings all reach 38 dB; the cheapest of the closest wins (they cost the same: the first)
  assert.equal(r.best.values.sqnr, 38);
  assert.equal(r.points.length, 4);
  assert.ok(r.points.filter((p) => p.pareto).length >= 2);
});

test('the measurement cap stops the search with the best so far; a cancelled search rejects', async () => {
  const { r } = await run('sqnr >= 30', additive, { maxMeasurements: 3 });
  assert.equal(r.truncated, true);
  assert.equal(r.points.length, 3);
  // baseline, ceiling, top 1: the closest miss is the ceiling (38 dB)
  assert.deepEqual(r.best.plan, Object.fromEntries(['c', 'a', 'd', 'b', 'e', 'f'].map((n) => [n, 'int16'])));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(run('sqnr >= 30', additive, { signal: ac.signal }), { name: 'AbortError' });
});

test('Pareto marks: lower cost and better metrics dominate; ties on both keep both; every budget metric counts', () => {
  const pt = (step: number, cost: number, sqnr: number): SearchPoint => ({ step, phase: 'bisect', label: '', plan: {}, promoted: 0, cost, values: { sqnr }, met: false, pareto: false });
  const ps = [pt(1, 10, 20), pt(2, 12, 25), pt(3, 12, 24), pt(4, 11, 19), pt(5, 10, 20)];
  markPareto(ps, ['sqnr']);
  assert.deepEqual(ps.map((p) => p.pareto), [true, true, false, false, true]);
  const drops = [pt(1, 10, 2), pt(2, 12, 1), pt(3, 14, 1.5)].map((p) => ({ ...p, values: { 'accuracy-drop': p.values.sqnr } }));
  markPareto(drops, ['accuracy-drop']);
  assert.deepEqual(drops.map((p) => p.pareto), [true, true, false]);
  // two metrics: equal drops, the costlier point stays on the front for its better SQNR
  const two = [pt(1, 10, 30), pt(2, 12, 40), pt(3, 11, 29)].map((p) => ({ ...p, values: { ...p.values, 'accuracy-drop': 0 } }));
  markPareto(two, ['accuracy-drop', 'sqnr']);
  assert.deepEqual(two.map((p) => p.pareto), [true, true, false]);
  markPareto(two, ['accuracy-drop']);
  assert.deepEqual(two.map((p) => p.pareto), [true, false, false]);
});
