/**
 * The mixed-precision search, given a way to measure a plan (autotune.ts quantizes and runs it;
 * tests pass a function). Every step is measured, never predicted:
 *  1. all int8 (the baseline); if it meets the budget it is the answer;
 *  2. for each higher precision in cost order (int16, fp16, float): every layer at it (the
 *     ceiling); at the first level whose ceiling meets the budget, the number k of the most
 *     sensitive layers promoted to it: doubled from 1 until it meets, then bisected between the
 *     last miss and that (Polygraphy's `debug precision` bisection);
 *  3. pruning: each promoted layer, least sensitive first (the demotion likely to cost the least
 *     metric), is tried one precision at a time down to int8; a demotion stays when the budget
 *     still holds; passes repeat while one demotes (measured plans are not measured again).
 * The answer is the lowest-cost plan among all measured ones that meets the budget (not the
 * first that passed); when none does, the one closest to it. Each measurement is a point on the
 * cost/metric curve; the Pareto front (cost against every metric of the budget) is marked.
 */
import { budgetMet, budgetShortfall, HIGHER_IS_BETTER, type Budget, type BudgetMetric, type BudgetValues } from './budget';
import { planCost, type CostModel, type LayerCostInfo } from './cost';
import { checkAbort } from './layers';
import type { Precision } from '../quant/plan';

export type Plan = Record<string, Precision>;
export type SearchPhase = 'baseline' | 'ceiling' | 'bisect' | 'prune';

export interface SearchPoint {
  /** 1-based order of measurement. */
  step: number;
  phase: SearchPhase;
  label: string;
  /** Layers above int8 and their precision (int8 layers are not named). */
  plan: Plan;
  promoted: number;
  cost: number;
  values: BudgetValues;
  met: boolean;
  /** On the Pareto front: no other point costs less and is no worse on every budget metric. */
  pareto: boolean;
}

export interface SearchInput {
  /** Layer names, most sensitive first; every layer in `layers` should appear. */
  ranking: readonly string[];
  layers: readonly LayerCostInfo[];
  budget: Budget;
  cost: CostModel;
  /** Precisions to promote to, cheapest first (default int16, fp16, float). */
  levels?: readonly Precision[];
  /** Stop measuring after this many plans (default 64); the best so far is returned. */
  maxMeasurements?: number;
  measure: (plan: Plan, label: string) => Promise<BudgetValues>;
  signal?: AbortSignal;
  onPoint?: (p: SearchPoint) => void;
}

export interface SearchOutcome {
  points: SearchPoint[];
  best: SearchPoint;
  met: boolean;
  /** The metric a curve is drawn against (the budget's first clause). */
  primary: BudgetMetric;
  /** Set when the measurement cap stopped the search early. */
  truncated: boolean;
}

const DEFAULT_LEVELS: readonly Precision[] = ['int16', 'fp16', 'float'];
const DEMOTE: Record<Precision, Precision[]> = { float: ['int8', 'int16', 'fp16'], skip: ['int8', 'int16', 'fp16'], fp16: ['int8', 'int16'], int16: ['int8'], int8: [] };

export const planKey = (p: Plan): string => JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));

class Cap extends Error {}

export async function searchPlan(input: SearchInput): Promise<SearchOutcome> {
  const { budget, layers } = input;
  const primary = budget.clauses[0].metric;
  const order = [...input.ranking.filter((n) => layers.some((l) => l.node === n)), ...layers.map((l) => l.node).filter((n) => !input.ranking.includes(n))];
  const max = input.maxMeasurements ?? 64;
  const points: SearchPoint[] = [];
  const seen = new Map<string, SearchPoint>();

  const measure = async (plan: Plan, phase: SearchPhase, label: string): Promise<SearchPoint> => {
    const known = seen.get(planKey(plan));
    if (known) return known;
    if (points.length >= max) throw new Cap();
    checkAbort(input.signal, 'The autotune run');
    const values = await input.measure(plan, label);
    const p: SearchPoint = {
      step: points.length + 1, phase, label, plan, promoted: Object.keys(plan).length,
      cost: planCost(layers, plan, input.cost), values, met: budgetMet(budget, values), pareto: false,
    };
    points.push(p);
    seen.set(planKey(plan), p);
    input.onPoint?.(p);
    return p;
  };
  const top = (k: number, level: Precision): Plan => Object.fromEntries(order.slice(0, k).map((n) => [n, level]));

  let truncated = false;
  try {
    const base = await measure({}, 'baseline', 'every layer int8');
    if (!base.met) {
      let found: { k: number; level: Precision } | undefined;
      for (const level of input.levels ?? DEFAULT_LEVELS) {
        const ceiling = await measure(top(order.length, level), 'ceiling', `every layer ${level}`);
        if (!ceiling.met) continue;
        // gallop (1, 2, 4, ... most sensitive layers) to the first count that meets, then bisect
        // below it: a few dominant layers are found in a few steps, and a count between two
        // measured ones is bisected as Polygraphy does. Invariant: top(lo) misses, top(hi) meets.
        let lo = 0;
        let hi = order.length;
        for (let k = 1; k < order.length; k *= 2) {
          const p = await measure(top(k, level), 'bisect', `the ${k} most sensitive layer${k > 1 ? 's' : ''} ${level}`);
          if (p.met) { hi = k; break; }
          lo = k;
        }
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          const p = await measure(top(mid, level), 'bisect', `the ${mid} most sensitive layer${mid > 1 ? 's' : ''} ${level}`);
          if (p.met) hi = mid; else lo = mid;
        }
        found = { k: hi, level };
        break;
      }
      if (found) {
        let plan = top(found.k, found.level);
        // layers interact (a demotion can raise the metric), so passes repeat while one demotes
        for (let changed = true; changed;) {
          changed = false;
          for (const node of order.filter((n) => plan[n]).reverse()) {
            for (const lower of DEMOTE[plan[node]]) {
              const next: Plan = { ...plan };
              if (lower === 'int8') delete next[node]; else next[node] = lower;
              const p = await measure(next, 'prune', `${node} back to ${lower}`);
              if (p.met) { plan = next; changed = true; break; }
            }
          }
        }
      }
    }
  } catch (e) {
    if (!(e instanceof Cap)) throw e;
    truncated = true;
  }
  markPareto(points, [...new Set(budget.clauses.map((c) => c.metric))]);
  return { points, best: pickBest(points, budget), met: points.some((p) => p.met), primary, truncated };
}

/** Lowest cost among the plans that meet the budget (then the better metric, then fewer promoted); else the closest miss. */
export function pickBest(points: readonly SearchPoint[], budget: Budget): SearchPoint {
  const primary = budget.clauses[0].metric;
  const better = (a: SearchPoint, b: SearchPoint): number => {
    const va = a.values[primary] ?? NaN;
    const vb = b.values[primary] ?? NaN;
    return HIGHER_IS_BETTER[primary] ? vb - va : va - vb;
  };
  const met = points.filter((p) => p.met);
  if (met.length) return [...met].sort((a, b) => a.cost - b.cost || better(a, b) || a.promoted - b.promoted || a.step - b.step)[0];
  return [...points].sort((a, b) => budgetShortfall(budget, a.values) - budgetShortfall(budget, b.values) || a.cost - b.cost || a.step - b.step)[0];
}

/**
 * Marks the points no other point beats: one beats another when it costs no more and is no worse
 * on any of the budget's metrics, and is strictly better on one of these.
 */
export function markPareto(points: SearchPoint[], metrics: readonly BudgetMetric[]): void {
  const score = (p: SearchPoint, m: BudgetMetric): number => {
    const v = p.values[m];
    return v === undefined || Number.isNaN(v) ? -Infinity : HIGHER_IS_BETTER[m] ? v : -v;
  };
  const beats = (q: SearchPoint, p: SearchPoint): boolean =>
    q.cost <= p.cost && metrics.every((m) => score(q, m) >= score(p, m)) && (q.cost < p.cost || metrics.some((m) => score(q, m) > score(p, m)));
  for (const p of points) p.pareto = !points.some((q) => q !== p && beats(q, p));
}
