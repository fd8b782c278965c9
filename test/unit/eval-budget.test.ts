/**
 * Budget expressions: what parses (each metric, every comparator, `and`, units), what does not
 * (one message naming the part), and met / shortfall / misses against hand-picked values.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { budgetMet, budgetShortfall, describeMisses, needsLabels, parseBudget } from '../../src/core/eval/budget';

test('parses each metric, comparators and "and" (any case, spacing, units)', () => {
  assert.deepEqual(parseBudget('accuracy-drop <= 0.5').clauses, [{ metric: 'accuracy-drop', op: '<=', value: 0.5 }]);
  assert.deepEqual(parseBudget('  SQNR>=30 dB ').clauses, [{ metric: 'sqnr', op: '>=', value: 30 }]);
  assert.deepEqual(parseBudget('sqnr > 25.5 AND agreement >= 99% and accuracy-drop < 1e-1').clauses, [
    { metric: 'sqnr', op: '>', value: 25.5 }, { metric: 'agreement', op: '>=', value: 99 }, { metric: 'accuracy-drop', op: '<', value: 0.1 },
  ]);
  assert.equal(needsLabels(parseBudget('sqnr >= 1 and accuracy-drop <= 2')), true);
  assert.equal(needsLabels(parseBudget('agreement >= 99')), false);
});

test('a bad expression gets one message naming what did not parse', () => {
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['latency <= 3', /"latency" is not a metric \(use accuracy-drop, sqnr, agreement\)/],
    ['sqnr 30', /"sqnr 30" has no comparison/],
    ['sqnr = 30', /"=" in "sqnr = 30" is not a comparison/],
    ['sqnr >= thirty', /"thirty" in "sqnr >= thirty" is not a number/],
    ['sqnr >= 30 and', /an "and" has nothing on one side/],
    ['sqnr >= 30 and  and agreement >= 9', /an "and" has nothing on one side/],
    ['sqnr >= 30 or agreement >= 9', /"30 or agreement >= 9" in "sqnr >= 30 or agreement >= 9" is not a number/],
    ['>= 30', /is not a metric, a comparison and a number/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseBudget(text), (e: Error) => {
      assert.match(e.message, /^The budget ".*" does not parse: /);
      assert.match(e.message, re, text);
      assert.equal(e.message.split('\n').length, 1);
      return true;
    });
  }
});

test('met, shortfall and misses: sqnr >= 30 and agreement >= 99', () => {
  const b = parseBudget('sqnr >= 30 and agreement >= 99');
  assert.equal(budgetMet(b, { sqnr: 30, agreement: 99 }), true);
  assert.equal(budgetMet(b, { sqnr: 29.99, agreement: 100 }), false);
  assert.equal(budgetMet(b, { sqnr: 40 }), false, 'a value not measured fails its clause');
  // 30 - 27.5 = 2.5 dB short plus 99 - 98 = 1 point short
  assert.equal(budgetShortfall(b, { sqnr: 27.5, agreement: 98 }), 3.5);
  assert.equal(budgetShortfall(b, { sqnr: 31, agreement: 99.5 }), 0);
  assert.equal(budgetShortfall(b, { sqnr: 31 }), Infinity);
  assert.deepEqual(describeMisses(b, { sqnr: 27.5, agreement: 100 }), ['sqnr 27.50 dB (needs >= 30)']);
  const strict = parseBudget('accuracy-drop < 0.5');
  assert.equal(budgetMet(strict, { 'accuracy-drop': 0.5 }), false);
  assert.equal(budgetMet(strict, { 'accuracy-drop': -1 }), true);
  assert.equal(budgetShortfall(strict, { 'accuracy-drop': 2 }), 1.5);
});
