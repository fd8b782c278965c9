/**
 * The graph layout's edge routes (plain Node: the layout has no DOM dependency): edges inside one
 * frame follow dagre's route around the boxes; edges across frames have none and are drawn as
 * curves. The shared edge shape (canvas and SVG) follows the route.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LayoutEngine, type LayoutInput, type LayoutItem } from '../../webview/graph/layout';
import { arrowHead, edgeShape } from '../../webview/graph/edgeShape';

/** a -> b -> c -> d, and a skip edge a -> d that must go around b and c. */
function chainWithSkip(nested: boolean): LayoutInput {
  return {
    opTypes: ['Conv', 'Relu', 'Conv', 'Add'],
    nodeGroup: nested ? [0, 1, 1, 0] : [0, 0, 0, 0],
    groups: nested
      ? [{ parent: -1, groups: [1], nodes: [0, 3], label: '', size: 4 }, { parent: 0, groups: [], nodes: [1, 2], label: 'block', size: 2 }]
      : [{ parent: -1, groups: [], nodes: [0, 1, 2, 3], label: '', size: 4 }],
    edges: [0, 1, 1, 2, 2, 3, 0, 3],
  };
}

const inside = (x: number, y: number, it: LayoutItem) => x > it.x + 1 && x < it.x + it.w - 1 && y > it.y + 1 && y < it.y + it.h - 1;

test('edges within a frame carry dagre\'s route; the skip edge goes around the boxes it passes', () => {
  const r = new LayoutEngine(chainWithSkip(false)).run();
  assert.equal(r.edges.length, 4);
  for (const e of r.edges) assert.ok(e.points && e.points.length >= 4, `edge ${e.a}->${e.b} has a route`);
  const node = (id: number) => r.items[r.repr[id]];
  const skip = r.edges.find((e) => e.a === r.repr[0] && e.b === r.repr[3])!;
  const p = skip.points!;
  // it leaves a's box and arrives at d's box
  assert.ok(p[1] >= node(0).y + node(0).h - 1, 'starts at the bottom of a');
  assert.ok(Math.abs(p[p.length - 1] - node(3).y) < 1, 'ends on the top of d');
  // and no bend point or segment midpoint lies inside b or c
  for (let i = 0; i + 3 < p.length; i += 2) {
    for (const [x, y] of [[p[i], p[i + 1]], [(p[i] + p[i + 2]) / 2, (p[i + 1] + p[i + 3]) / 2]]) {
      assert.ok(!inside(x, y, node(1)) && !inside(x, y, node(2)), `route point ${x},${y} is inside a box it passes`);
    }
  }
  // the drawn shape follows the route and points its arrow along the last segment
  const s = edgeShape(skip, r.items[skip.a], r.items[skip.b]);
  assert.deepEqual(s.start, [p[0], p[1]]);
  assert.deepEqual(s.tip, [p[p.length - 2], p[p.length - 1]]);
  assert.ok(s.segs.some((g) => g.c === 'Q'), 'curves through the bend points');
  const [tx, ty, lx, ly, rx, ry] = arrowHead(s);
  assert.deepEqual([tx, ty], s.tip);
  assert.ok(ly < ty && ry < ty, 'the arrow head opens upwards, behind a downward tip');
  assert.ok(Math.abs(Math.hypot(lx - tx, ly - ty) - Math.hypot(rx - tx, ry - ty)) < 1e-9, 'symmetric head');
});

test('edges across frames have no route and keep the curve between the boxes', () => {
  const engine = new LayoutEngine(chainWithSkip(true));
  engine.setExpanded([0, 1]);
  const r = engine.run();
  const into = r.edges.find((e) => e.a === r.repr[0] && e.b === r.repr[1])!; // root node -> node in the frame
  assert.equal(into.points, undefined);
  const s = edgeShape(into, r.items[into.a], r.items[into.b]);
  assert.equal(s.segs[0].c, 'C');
  assert.deepEqual(s.dir, [0, 1]);
  const within = r.edges.find((e) => e.a === r.repr[1] && e.b === r.repr[2])!; // both in the frame
  assert.ok(within.points && within.points.length >= 4);
  // the route is in world coordinates: it starts on the frame member's box, not at the frame's origin
  const b = r.items[r.repr[1]];
  assert.ok(within.points[0] >= b.x && within.points[0] <= b.x + b.w && Math.abs(within.points[1] - (b.y + b.h)) < 1);
  // collapsed, the frame is one box: the edge into it goes from a to the group box, routed at the top level
  engine.setExpanded([0]);
  const c = engine.run();
  const toGroup = c.edges.find((e) => e.a === c.repr[0] && e.b === c.repr[1])!;
  assert.ok(toGroup.points && toGroup.points.length >= 4);
});
