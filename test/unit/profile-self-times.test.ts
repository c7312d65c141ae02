// bench/profile.ts reads advtrain's and torch.profiler's Chrome traces the same way: an operator's self
// time is its span less its direct children's, per thread.
import t from 'tap';
import { medianOf, selfTimes } from '../../bench/profile.js';

const X = (name: string, ts: number, dur: number, tid = 1) => ({ ph: 'X', cat: 'cpu_op', name, ts, dur, tid });

t.test('self times subtract direct children only, per thread; other events are ignored', async (t) => {
  const trace = {
    traceEvents: [
      X('aten::linear', 0, 100), // children: addmm (0-80) -> self 20
      X('aten::addmm', 0, 80), // child: empty (10-15) -> self 75
      X('aten::empty', 10, 5),
      X('aten::gelu', 100, 50),
      X('aten::mm', 20, 30, 2), // another thread: not a child of linear
      { ph: 'X', cat: 'user_annotation', name: 'ProfilerStep', ts: 0, dur: 1000, tid: 1 },
      { ph: 'i', name: 'marker', ts: 5, tid: 1 },
    ],
  };
  const { ops, opMs, spanMs } = selfTimes(trace);
  t.same(Object.fromEntries(ops), { 'aten::linear': 0.02, 'aten::addmm': 0.075, 'aten::empty': 0.005, 'aten::gelu': 0.05, 'aten::mm': 0.03 });
  t.equal(+opMs.toFixed(6), 0.18);
  t.equal(spanMs, 0.15);
});

t.test('medianOf takes each operator\'s median over the steps (0 where a step lacks it)', async (t) => {
  const step = (a: number, b?: number) => ({ ops: new Map(Object.entries(b === undefined ? { a } : { a, b })), opMs: a + (b ?? 0), spanMs: a + (b ?? 0) + 1 });
  const m = medianOf([step(1, 5), step(3), step(2, 4)]);
  t.same(Object.fromEntries(m.ops), { a: 2, b: 4 });
  t.equal(m.opMs, 6);
  t.equal(m.spanMs, 7);
});
