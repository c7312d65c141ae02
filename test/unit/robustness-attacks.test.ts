import t from 'tap';
import type { AttackOptions, AttackResult, Model } from '../../lib/model/model.js';
import { pgdAttack } from '../../lib/robustness/embedding-attack.js';
import type { EvalSet } from '../../lib/robustness/examples.js';
import { maxLossIncrease, RADIUS_THRESHOLD, radiusGrid } from '../../lib/robustness/loss-increase.js';

// What the evaluations ask model.attack for, and how they read its answers, on a stand-in model.
const set: EvalSet = {
  examples: [0, 1, 2, 3].map((i) => ({ text: `x${i}`, label: i % 2 })),
  encoded: [3, 5, 4, 6].map((n, i) => ({ ids: Array.from({ length: n }, (_, j) => j + 1), typeIds: new Array<number>(n).fill(0), length: n, label: i % 2 })),
  predictions: [0, 1, 1, 1],
  correct: [true, true, false, true],
  padId: 0,
};

function fakeModel(answer: (lengths: number[], o: AttackOptions) => Partial<AttackResult>): { model: Model; calls: AttackOptions[] } {
  const calls: AttackOptions[] = [];
  const model = {
    config: { numLabels: 2, embeddingSize: 16 },
    async attack(batch: { batchSize: number; seqLen: number; attentionMask: Int32Array; labels?: Int32Array }, o: AttackOptions) {
      calls.push(o);
      const rows = batch.batchSize;
      const lengths = Array.from({ length: rows }, (_, r) => batch.attentionMask.subarray(r * batch.seqLen, (r + 1) * batch.seqLen).reduce((a, b) => a + b, 0));
      const zeros = () => new Float32Array(rows);
      // Final logits always predict the label: only `succeeded` says whether an iterate was misclassified.
      const advLogits = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) advLogits[r * 2 + batch.labels![r]!] = 5;
      return { cleanLoss: zeros(), maxLoss: zeros(), finalLoss: zeros(), cleanLogits: advLogits, advLogits, logitsShape: [rows, 2], iterations: zeros(), deltaNorm: zeros(), succeeded: zeros(), ...answer(lengths, o) };
    },
  } as unknown as Model;
  return { model, calls };
}

t.test("PGD: Madry's sign step in linf, the normalised step in l2, success at any iterate", async (t) => {
  const { model, calls } = fakeModel((lengths) => ({ succeeded: Float32Array.from(lengths, () => 1) }));
  const r = await pgdAttack(model, set, { radii: [0.4], norms: ['l2', 'linf'], steps: 8, batchSize: 8 });
  t.same(
    calls.map((c) => [c.norm, c.step, c.start, c.stepSize, c.steps]),
    [
      ['l2', 'normalized', 'zero', (2.5 * 0.4) / 8, 8],
      ['linf', 'sign', 'zero', (2.5 * 0.1) / 8, 8],
    ],
  );
  t.same(
    r.results.map((x) => [x.successful, x.failed, x.skipped]),
    [
      [3, 0, 1],
      [3, 0, 1],
    ],
    'misclassified at some iterate counts although the final point is right',
  );
  calls.length = 0;
  const random = await pgdAttack(model, set, { radii: [0.4], norms: ['linf'], steps: 8, batchSize: 8, randomStart: true, seed: 7 });
  t.same([calls[0]!.start, calls[0]!.seed, random.definition.start], ['uniform', 7, 'uniform']);
});

t.test("dlmax: get_highest_loss.py's start and stopping rule; radii on its grid with the early stop at log 2", async (t) => {
  // Max loss at radius eps: 10 * n * eps^2 for an example of n tokens, so radii differ per example.
  const { model, calls } = fakeModel((lengths, o) => ({ maxLoss: Float32Array.from(lengths, (n) => 10 * n * o.epsilon * o.epsilon) }));
  const r = await maxLossIncrease(model, set, { radii: [0.1], batchSize: 8 });
  const [first, ...search] = calls;
  t.same([first!.start, first!.step, first!.norm, first!.stepSize, first!.steps, first!.patience, first!.tol, first!.stopAbove], ['uniform', 'normalized', 'l2', 5e-3, 2000, 50, 1e-5, undefined]);
  t.ok(search.length > 0 && search.every((c) => c.stopAbove === RADIUS_THRESHOLD && c.start === 'uniform' && c.patience === 50), 'radius trials stop early above log 2');
  const grid = radiusGrid();
  t.same(search.map((c) => c.epsilon), grid.slice(0, search.length), 'the grid, largest first');
  t.equal(grid.length, 22);
  t.same([grid[0], grid[10], grid[11], grid[21]], [0.2, 0.01, 9e-3, 1e-4]);
  // The correct examples have 3, 5 and 6 tokens; each settles at the largest grid eps with 10 n eps^2 <= log 2.
  const expected = [3, 5, 6].map((n) => Math.max(...grid.filter((g) => 10 * n * g * g <= Math.log(2))));
  t.same([r.radius!.n, r.radius!.median, r.radius!.belowGrid], [3, expected[1], 0]);
});
