/**
 * How the sensitivity sweep runs its configurations. A configuration is a base (every layer float,
 * or every layer quantized) with at most one layer switched the other way.
 *  - reuseRunner (the default): each base runs whole once, keeping the values at every layer's
 *    cut (./cut.ts); a configuration that switches layer i then runs only the part of the graph
 *    below layer i, fed with those values. Per layer the cost is the downstream part, not the
 *    whole model, and no gate or copy is added to what onnxruntime computes, so the numbers are
 *    those of the whole configuration model.
 *  - naiveRunner: one model and one session per configuration (the reference, for tests and the
 *    benchmark).
 */
import { mainGraph, type Model, type TensorType } from '../model';
import type { Sample } from '../data';
import { writeOnnx } from '../formats/onnx';
import { createSession, runSession, type OrtSession, type OrtSessionOptions, type OrtTensor } from '../runtime/ort';
import { ORT_DTYPES, sampleFeeds, withExtraOutputs } from '../quant/preprocess';
import { configModel, gateLayers, type GateLayer } from './gate';
import { cutBelow, cutModel, type Cut } from './cut';
import { checkAbort } from './layers';
import type { QdqView } from './layersGraph';

export interface SweepConfig {
  base: 'float' | 'quantized';
  /** The layer switched against the base. */
  flip?: number;
}

export interface SweepRunner {
  layers: GateLayer[];
  /** The scored output of every sample under the configuration. */
  run: (c: SweepConfig) => Promise<Float32Array[]>;
  sessions: () => number;
  /** session.run calls so far. */
  runs: () => number;
  close: () => Promise<void>;
}

/** Which layers read quantized tensors in a configuration. */
export const layersOn = (count: number, c: SweepConfig): boolean[] => Array.from({ length: count }, (_, k) => (c.base === 'quantized') !== (k === c.flip));

export interface RunnerOptions {
  session: OrtSessionOptions;
  signal?: AbortSignal;
  /** reuseRunner: bound on the kept cut values (default KEPT_BYTES). */
  keptBytes?: number;
}

/** What a runner works with, and counts of what it did. */
interface Context { so: OrtSessionOptions; signal?: AbortSignal; sessions: number; runs: number }

/** Lets the caller's event loop turn. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs every sample through `session`, letting the caller's event loop turn between runs. */
async function runSamples(session: OrtSession, feeds: (i: number) => Record<string, OrtTensor>, count: number, output: string, cx: Context): Promise<Float32Array[]> {
  const outs: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    checkAbort(cx.signal, 'The sensitivity run');
    const o = await runSession(session, feeds(i), [output], 'the model');
    cx.runs++;
    outs.push(o[output].data as Float32Array);
    if (i % 4 === 3) await turn();
  }
  return outs;
}

async function withSession<T>(model: Model, what: string, cx: Context, use: (s: OrtSession) => Promise<T>): Promise<T> {
  const s = await createSession(writeOnnx(model), cx.so, what);
  cx.sessions++;
  try {
    return await use(s);
  } finally {
    await s.release().catch(() => undefined);
  }
}

/** One model and one session per configuration. */
export function naiveRunner(view: QdqView, reference: Model, samples: Sample[], output: string, o: RunnerOptions): SweepRunner {
  const feeds = samples.map(sampleFeeds);
  const layers = gateLayers(view, reference);
  const cx: Context = { so: o.session, signal: o.signal, sessions: 0, runs: 0 };
  return {
    layers,
    run: (c) => withSession(configModel(view, reference, layersOn(layers.length, c)), 'a configuration model', cx, (s) => runSamples(s, (i) => feeds[i], feeds.length, output, cx)),
    sessions: () => cx.sessions,
    runs: () => cx.runs,
    close: async () => undefined,
  };
}

interface Base {
  session: OrtSession;
  /** Per layer: the model of the configuration that switches it. */
  models: Model[];
  /** Per layer: its cut in the configuration that switches it (undefined: run that configuration whole). */
  cuts: (Cut | undefined)[];
  /** The layers whose cut values are kept together (bounded by the memory budget). */
  groups: number[][];
  group: number;
  outputs: Float32Array[];
  /** Per sample, the kept cut values of the current group. */
  kept: Map<string, OrtTensor>[];
}

/** Default bound on the cut values kept from a base run; above it the base runs again per group of layers. */
export const KEPT_BYTES = 512 * 2 ** 20;

/** The base runs once, each switched layer runs only below its cut (see the module comment). */
export function reuseRunner(view: QdqView, reference: Model, samples: Sample[], output: string, o: RunnerOptions): SweepRunner {
  const keptBytes = o.keptBytes ?? KEPT_BYTES;
  const feeds = samples.map(sampleFeeds);
  const layers = gateLayers(view, reference);
  const inputs = new Set(mainGraph(view.model).inputs);
  const bases = new Map<SweepConfig['base'], Promise<Base>>();
  const cx: Context = { so: o.session, signal: o.signal, sessions: 0, runs: 0 };
  const config = (c: SweepConfig): Model => configModel(view, reference, layersOn(layers.length, c));
  const fed = (kept: Map<string, OrtTensor>[], i: number, names: string[]): Record<string, OrtTensor> =>
    Object.fromEntries(names.map((n) => [n, inputs.has(n) ? feeds[i][n] : kept[i].get(n)!]));

  const keptNames = (b: Base, group: number): string[] => [...new Set(b.groups[group].flatMap((i) => b.cuts[i]?.frontier ?? []))].filter((n) => !inputs.has(n));
  /** Runs the base over every sample, keeping the cut values of `group`'s layers. */
  const runBase = async (b: Base, group: number): Promise<void> => {
    const names = keptNames(b, group);
    b.kept = [];
    b.outputs = [];
    for (let i = 0; i < feeds.length; i++) {
      checkAbort(cx.signal, 'The sensitivity run');
      const r = await runSession(b.session, feeds[i], [output, ...names], 'the model');
      cx.runs++;
      b.outputs.push(r[output].data as Float32Array);
      b.kept.push(new Map(names.map((n) => [n, r[n]])));
      if (i % 4 === 3) await turn();
    }
    b.group = group;
  };
  const openBase = async (base: SweepConfig['base']): Promise<Base> => {
    const models: Model[] = [];
    const cuts: (Cut | undefined)[] = [];
    for (const [i, l] of layers.entries()) {
      models.push(config({ base, flip: i }));
      const g = mainGraph(models[i]);
      cuts.push(cutBelow(g, g.nodes.find((n) => n.name === l.node && !n.nameSynthesised)!, output));
      if (i % 4 === 3) await turn();
    }
    const all = [...new Set(cuts.flatMap((c) => c?.frontier ?? []))].filter((n) => !inputs.has(n));
    const session = await createSession(writeOnnx(withExtraOutputs(config({ base }), all)), cx.so, 'the model with its layer values as outputs');
    cx.sessions++;
    const b: Base = { session, models, cuts, groups: [layers.map((_, i) => i)], group: -1, outputs: [], kept: [] };
    await runBase(b, 0).catch(async (e: unknown) => { await session.release().catch(() => undefined); throw e; });
    // bytes kept per layer, from the values of this run; regroup when all of them exceed the budget
    const bytes = (n: string): number => b.kept.reduce((s, k) => s + ((k.get(n)?.data as ArrayBufferView | undefined)?.byteLength ?? 0), 0);
    if (all.reduce((s, n) => s + bytes(n), 0) > keptBytes) {
      b.groups = [];
      let size = Infinity;
      const seen = new Set<string>();
      layers.forEach((_, i) => {
        const add = (cuts[i]?.frontier ?? []).filter((n) => !inputs.has(n) && !seen.has(n)).reduce((s, n) => s + bytes(n), 0);
        if (size + add > keptBytes || !b.groups.length) { b.groups.push([]); size = 0; seen.clear(); }
        b.groups[b.groups.length - 1].push(i);
        size += add;
        for (const n of cuts[i]?.frontier ?? []) seen.add(n);
      });
      b.kept = [];
      b.group = -1;
    }
    return b;
  };
  const baseOf = (base: SweepConfig['base']): Promise<Base> => {
    let b = bases.get(base);
    if (!b) bases.set(base, (b = openBase(base)));
    return b;
  };

  return {
    layers,
    run: async (c) => {
      const b = await baseOf(c.base);
      if (c.flip === undefined) {
        if (b.group < 0) await runBase(b, 0);
        return b.outputs;
      }
      const cut = b.cuts[c.flip];
      if (!cut) return withSession(b.models[c.flip], 'a configuration model', cx, (s) => runSamples(s, (i) => feeds[i], feeds.length, output, cx));
      const group = b.groups.findIndex((g) => g.includes(c.flip!));
      if (b.group !== group) await runBase(b, group);
      const types = new Map<string, TensorType>();
      for (const n of cut.frontier) {
        const t = inputs.has(n) ? feeds[0][n] : b.kept[0].get(n)!;
        types.set(n, { dtype: ORT_DTYPES[t.type], shape: [...t.dims] });
      }
      return withSession(cutModel(b.models[c.flip], cut, output, types), `the model below ${layers[c.flip].node}`, cx, (s) => runSamples(s, (i) => fed(b.kept, i, cut.frontier), feeds.length, output, cx));
    },
    sessions: () => cx.sessions,
    runs: () => cx.runs,
    close: async () => {
      // a base that failed to open released its session itself
      for (const b of bases.values()) await (await b.catch(() => undefined))?.session.release().catch(() => undefined);
    },
  };
}
