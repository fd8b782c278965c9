/**
 * Autotune budgets: `accuracy-drop <= 0.5` (top-1 points lost against the float model, needs
 * labels), `sqnr >= 30` (output SQNR against the float model, dB), `agreement >= 99` (top-1
 * agreement with the float model, %), joined with `and`. Pure: parse, check, and how far a
 * measurement is from meeting the budget (to rank plans that miss it).
 */
import { ModelError } from '../errors';

export type BudgetMetric = 'accuracy-drop' | 'sqnr' | 'agreement';
export const BUDGET_METRICS: readonly BudgetMetric[] = ['accuracy-drop', 'sqnr', 'agreement'];
export type Comparator = '<=' | '>=' | '<' | '>';

export interface BudgetClause {
  metric: BudgetMetric;
  op: Comparator;
  value: number;
}

export interface Budget {
  text: string;
  clauses: BudgetClause[];
}

/** Measured values in budget units: accuracy-drop in top-1 points, sqnr in dB, agreement in %. */
export type BudgetValues = Partial<Record<BudgetMetric, number>>;

/** Which direction is better for each metric (the comparator a sensible budget uses). */
export const HIGHER_IS_BETTER: Record<BudgetMetric, boolean> = { 'accuracy-drop': false, sqnr: true, agreement: true };

const UNITS: Record<BudgetMetric, string> = { 'accuracy-drop': ' points', sqnr: ' dB', agreement: ' %' };

const CLAUSE = /^([a-z][a-z0-9-]*)\s*(<=|>=|<|>|=<|=>|=)?\s*(.*)$/i;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function bad(text: string, what: string): never {
  throw new ModelError('unsupported', `The budget "${text}" does not parse: ${what}. Write clauses like accuracy-drop <= 0.5, sqnr >= 30 or agreement >= 99, joined with "and".`);
}

/** Parses a budget expression; one message naming the part that did not parse. */
export function parseBudget(text: string): Budget {
  const src = text.trim();
  if (!src) bad(text, 'it is empty');
  if (/^and\b|\band$/i.test(src)) bad(text, 'an "and" has nothing on one side');
  const parts = src.split(/\s+and\s+/i);
  const clauses: BudgetClause[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) bad(text, 'an "and" has nothing on one side');
    const m = CLAUSE.exec(part);
    if (!m) bad(text, `"${part}" is not a metric, a comparison and a number`);
    const metric = m[1].toLowerCase();
    if (metric === 'and') bad(text, 'an "and" has nothing on one side');
    if (!(BUDGET_METRICS as readonly string[]).includes(metric)) bad(text, `"${m[1]}" is not a metric (use ${BUDGET_METRICS.join(', ')})`);
    const op = m[2];
    if (!op) bad(text, `"${part}" has no comparison (<=, >=, <, >) after ${metric}`);
    if (op === '=' || op === '=<' || op === '=>') bad(text, `"${op}" in "${part}" is not a comparison (use <=, >=, <, >)`);
    const num = m[3].trim().replace(/%$/, '').replace(/\s*db$/i, '');
    if (!NUMBER.test(num)) bad(text, `"${m[3].trim() || '(nothing)'}" in "${part}" is not a number`);
    clauses.push({ metric: metric as BudgetMetric, op: op as Comparator, value: Number(num) });
  }
  return { text: src, clauses };
}

export function needsLabels(b: Budget): boolean {
  return b.clauses.some((c) => c.metric === 'accuracy-drop');
}

function holds(c: BudgetClause, v: number): boolean {
  switch (c.op) {
    case '<=': return v <= c.value;
    case '>=': return v >= c.value;
    case '<': return v < c.value;
    case '>': return v > c.value;
  }
}

/** True when every clause holds for the values (a missing value fails its clause). */
export function budgetMet(b: Budget, v: BudgetValues): boolean {
  return b.clauses.every((c) => v[c.metric] !== undefined && !Number.isNaN(v[c.metric]) && holds(c, v[c.metric]!));
}

/**
 * How far the values are from meeting the budget: the sum over clauses of the distance to each
 * clause's threshold in its own units (0 when met). Ranks plans that miss the budget.
 */
export function budgetShortfall(b: Budget, v: BudgetValues): number {
  let total = 0;
  for (const c of b.clauses) {
    const x = v[c.metric];
    if (x === undefined || Number.isNaN(x)) return Infinity;
    if (holds(c, x)) continue;
    total += Math.abs(x - c.value);
  }
  return total;
}

/** The clauses that fail, with what was reached: "sqnr 27.31 dB (needs >= 30)". */
export function describeMisses(b: Budget, v: BudgetValues): string[] {
  return b.clauses.filter((c) => !(v[c.metric] !== undefined && holds(c, v[c.metric]!)))
    .map((c) => `${c.metric} ${v[c.metric] === undefined ? 'not measured' : `${formatValue(c.metric, v[c.metric]!)}${UNITS[c.metric]}`} (needs ${c.op} ${c.value})`);
}

export function formatValue(m: BudgetMetric, x: number): string {
  return Number.isFinite(x) ? x.toFixed(m === 'sqnr' ? 2 : 3) : String(x);
}

export function unitOf(m: BudgetMetric): string {
  return UNITS[m].trim();
}
