/**
 * evaluateModel over fake ranks (test/helpers/fake-collectives.ts) against one process, with fake
 * models whose outputs are a fixed function of the batch: no addon needed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { SquadExample } from '../../lib/data/squad.js';
import { allGatherJson } from '../../lib/distributed/collectives.js';
import type { LabeledBatch } from '../../lib/model/batch.js';
import type { Task } from '../../lib/model/config.js';
import type { ForwardOutput, Model } from '../../lib/model/model.js';
import { evaluateQa, predictQa, prepareQaFeatures } from '../../lib/tasks/qa.js';
import { loadTokenizer } from '../../lib/tokenizer/index.js';
import { evaluateModel, type Scorer } from '../../lib/train/evaluate.js';
import { fakeGroup } from '../helpers/fake-collectives.js';

/** A deterministic value in [0, 1) from integers (a hash, so sums of them are not round). */
const noise = (...xs: number[]): number => {
  const s = Math.sin(xs.reduce((a, x, i) => a + x * (12.9898 + 7.233 * i), 0.5)) * 43758.5453;
  return s - Math.floor(s);
};

const TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

interface FakeModel {
  model: Model;
  /** The batches forward() ran on, in call order. */
  seen: LabeledBatch[];
}

/**
 * A model whose logits favour the true label most of the time (so the metrics are not trivial) and
 * whose loss is a fixed function of the batch; `nanLossOn` makes the loss of the batch whose first
 * token id is that NaN.
 */
function fakeModel(task: Task, nanLossOn?: number): FakeModel {
  const seen: LabeledBatch[] = [];
  const cols = task === 'regression' ? 1 : task === 'question-answering' ? 2 : task === 'token-classification' ? TAGS.length : task === 'masked-lm' ? 9 : 3;
  const model = {
    task,
    config: { id2label: task === 'token-classification' ? TAGS : [] },
    async forward(batch: LabeledBatch, options: { labeledOnly?: boolean } = {}): Promise<ForwardOutput> {
      seen.push(batch);
      const perToken = task === 'token-classification' || task === 'masked-lm' || task === 'question-answering';
      const rows = perToken ? batch.batchSize * batch.seqLen : batch.batchSize;
      const logits = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const id = batch.inputIds[perToken ? r : r * batch.seqLen]!;
        const y = batch.labels?.[r];
        for (let c = 0; c < cols; c++) {
          let x = noise(id, c, r % 3);
          if (task === 'regression') x = (typeof y === 'number' ? y : 0) + noise(id) - 0.5;
          else if (y !== undefined && y === c && noise(id, 99) < 0.7) x += 1;
          if (task === 'question-answering') {
            const row = Math.floor(r / batch.seqLen);
            const pos = (c === 0 ? batch.startPositions : batch.endPositions)![row]!;
            if (r % batch.seqLen === pos && noise(id, row) < 0.6) x += 2;
          }
          logits[r * cols + c] = x;
        }
      }
      const hasTargets = batch.labels !== undefined || batch.startPositions !== undefined;
      const sum = batch.inputIds.reduce((a, x) => a + x, 0);
      const loss = !hasTargets ? undefined : batch.inputIds[0] === nanLossOn ? Number.NaN : 0.3 + noise(sum, batch.batchSize) * 2;
      if (options.labeledOnly) {
        // The masked-LM forward evaluateModel asks for: rows at the labelled positions only.
        const kept = [...Array(rows).keys()].filter((r) => batch.labels![r] !== -100);
        const compact = new Float32Array(kept.length * cols);
        kept.forEach((r, m) => compact.set(logits.subarray(r * cols, (r + 1) * cols), m * cols));
        return { logits: compact, logitsShape: [kept.length, cols], loss } as ForwardOutput;
      }
      return { logits, logitsShape: perToken ? [batch.batchSize, batch.seqLen, cols] : [batch.batchSize, cols], loss } as ForwardOutput;
    },
  } as unknown as Model;
  return { model, seen };
}

/** Batches of uneven sizes; token ids encode (batch, row, position). */
function batches(task: Task, count = 7): LabeledBatch[] {
  const out: LabeledBatch[] = [];
  for (let b = 0; b < count; b++) {
    const batchSize = 1 + ((b * 5) % 4);
    const seqLen = 4 + (b % 3);
    const inputIds = Int32Array.from({ length: batchSize * seqLen }, (_, i) => 1 + b * 100 + i);
    const batch: LabeledBatch = { inputIds, batchSize, seqLen };
    if (task === 'sequence-classification') {
      batch.labels = Int32Array.from({ length: batchSize }, (_, r) => (noise(b, r, 5) < 0.15 ? -100 : Math.floor(noise(b, r) * 3)));
    } else if (task === 'regression') {
      batch.labels = Float32Array.from({ length: batchSize }, (_, r) => 5 * noise(b, r, 7));
    } else if (task === 'token-classification') {
      // Per-token tags of IOB2 spans; the first and last token of each row are "special" (-100).
      batch.labels = Int32Array.from({ length: batchSize * seqLen }, (_, i) => {
        const j = i % seqLen;
        if (j === 0 || j === seqLen - 1) return -100;
        const z = noise(b, i, 3);
        return z < 0.4 ? 0 : z < 0.6 ? 1 : z < 0.7 ? 2 : z < 0.9 ? 3 : 4;
      });
    } else if (task === 'masked-lm') {
      batch.labels = Int32Array.from({ length: batchSize * seqLen }, (_, i) => (noise(b, i, 11) < 0.3 ? Math.floor(noise(b, i) * 9) : -100));
    } else if (task === 'question-answering') {
      batch.startPositions = Int32Array.from({ length: batchSize }, (_, r) => Math.floor(noise(b, r, 1) * seqLen));
      batch.endPositions = Int32Array.from(batch.startPositions, (s, r) => Math.min(seqLen - 1, s + Math.floor(noise(b, r, 2) * 2)));
    }
    out.push(batch);
  }
  return out;
}

/** Every fake rank's evaluateModel at once; each rank has its own model (as each process would). */
async function sharded(task: Task, data: LabeledBatch[], worldSize: number, scorer?: Scorer, nanLossOn?: number) {
  const group = fakeGroup(worldSize);
  const models = group.map(() => fakeModel(task, nanLossOn));
  const results = await Promise.all(group.map((collectives, r) => evaluateModel(models[r]!.model, data, { collectives, ...(scorer ? { scorer } : {}) })));
  return { results, models, group };
}

/** Within 1e-9 relative (what the docs promise at least; the sums are in fact added in the same order). */
function close(t: Test, got: Record<string, number>, want: Record<string, number>, at: string) {
  t.same(Object.keys(got).sort(), Object.keys(want).sort(), `${at}: the same metrics`);
  for (const [k, w] of Object.entries(want)) {
    const g = got[k]!;
    t.ok(Object.is(g, w) || Math.abs(g - w) <= 1e-9 * Math.abs(w), `${at}: ${k} ${g} vs ${w}`);
  }
}

const TASKS: Task[] = ['sequence-classification', 'regression', 'token-classification', 'masked-lm', 'question-answering'];

t.test('sharded evaluateModel: every rank returns the single-process metrics, for 1, 2, 3 and 8 ranks', async (t) => {
  for (const task of TASKS) {
    const data = batches(task);
    const single = await evaluateModel(fakeModel(task).model, data);
    // The fixtures give non-trivial metrics (not all 0 or 1), so a wrong merge shows.
    const main = { 'sequence-classification': 'f1', regression: 'spearman', 'token-classification': 'f1', 'masked-lm': 'maskedAccuracy', 'question-answering': 'exactPositions' }[task as string]!;
    t.ok(single[main]! > 0.05 && single[main]! < 0.99, `${task}: ${main} ${single[main]} is informative`);
    for (const worldSize of [1, 2, 3, 8]) {
      const { results, models, group } = await sharded(task, data, worldSize);
      results.forEach((m, r) => {
        close(t, m, single, `${task}, rank ${r} of ${worldSize}`);
        t.same(m, single, `${task}, rank ${r} of ${worldSize}: identical to the last bit`);
      });
      // Each rank ran the model on its own batches only: batch i on rank i % W.
      models.forEach((m, r) => t.same(m.seen, data.filter((_, i) => i % worldSize === r), `${task}: rank ${r} of ${worldSize} ran batches i % ${worldSize} === ${r}`));
      t.same(group.calls, new Array(worldSize).fill(worldSize === 1 ? 0 : 1), 'one gather per rank (none for a single rank)');
    }
  }
});

t.test('sharded evaluateModel: the metrics that matter are the ones expected', async (t) => {
  const single = await evaluateModel(fakeModel('sequence-classification').model, batches('sequence-classification'));
  t.match(Object.keys(single).sort(), ['accuracy', 'examples', 'f1', 'loss']);
  const reg = await evaluateModel(fakeModel('regression').model, batches('regression'));
  t.match(Object.keys(reg).sort(), ['examples', 'loss', 'mse', 'pearson', 'spearman']);
  const tok = await evaluateModel(fakeModel('token-classification').model, batches('token-classification'));
  t.match(Object.keys(tok).sort(), ['examples', 'f1', 'loss', 'precision', 'recall', 'tokenAccuracy']);
  const mlm = await evaluateModel(fakeModel('masked-lm').model, batches('masked-lm'));
  t.match(Object.keys(mlm).sort(), ['examples', 'loss', 'maskedAccuracy', 'perplexity']);
  // The masked LM is asked for labelled-position logits only; scored from its full logits, the same.
  let right = 0;
  let total = 0;
  for (const b of batches('masked-lm')) {
    const full = await fakeModel('masked-lm').model.forward(b);
    b.labels!.forEach((y, i) => {
      if (y === -100) return;
      total++;
      const row = Array.from(full.logits.subarray(i * 9, (i + 1) * 9));
      if (row.indexOf(Math.max(...row)) === y) right++;
    });
  }
  t.ok(total > 10, `${total} labelled positions`);
  t.equal(mlm.maskedAccuracy, right / total, `masked accuracy ${right}/${total}`);
});

t.test('sharded evaluateModel: the scorer sees the predictions in single-process order', async (t) => {
  const data = batches('sequence-classification', 9);
  const calls: [number[], number[]][] = [];
  const scorer: Scorer = (p, r) => {
    calls.push([p, r]);
    return { agree: p.filter((x, i) => x === r[i]).length, first: p[0] };
  };
  const single = await evaluateModel(fakeModel('sequence-classification').model, data, { scorer });
  const { results } = await sharded('sequence-classification', data, 4, scorer);
  t.equal(calls.length, 5);
  for (const c of calls.slice(1)) t.same(c, calls[0]);
  for (const m of results) t.same(m, single);
});

t.test('sharded evaluateModel: a NaN loss stays NaN across the gather', async (t) => {
  const data = batches('regression');
  const nanOn = data[4]!.inputIds[0]!;
  const single = await evaluateModel(fakeModel('regression', nanOn).model, data);
  t.ok(Number.isNaN(single.loss));
  const { results } = await sharded('regression', data, 3, undefined, nanOn);
  for (const m of results) {
    t.ok(Number.isNaN(m.loss), 'loss NaN (JSON would have made it null, then 0)');
    t.same(m, single);
  }
});

t.test('sharded evaluateModel: a failure on one rank fails every rank, and none waits forever', async (t) => {
  const data = batches('sequence-classification');
  const bad = data.map((b, i) => (i === 4 ? { ...b, labels: undefined } : b));
  const group = fakeGroup(3);
  const settled = await Promise.allSettled(group.map((collectives) => evaluateModel(fakeModel('sequence-classification').model, bad, { collectives })));
  // Batch 4 is rank 1's: that rank throws its own error, the others name it.
  t.match(settled[1], { status: 'rejected', reason: { code: 'ERR_INVALID_ARG', message: /batches with labels/ } });
  for (const r of [0, 2]) t.match(settled[r], { status: 'rejected', reason: { code: 'ERR_DISTRIBUTED', message: /rank 1: Expected batches with labels/ } });
  // Ranks given different data (rank 2 one batch short) are refused on every rank.
  const uneven = fakeGroup(3);
  const runs = await Promise.allSettled(uneven.map((collectives, r) => evaluateModel(fakeModel('sequence-classification').model, r === 2 ? data.slice(0, 6) : data, { collectives })));
  for (const run of runs) t.match(run, { status: 'rejected', reason: { code: 'ERR_DISTRIBUTED', message: /the same evaluation data on every rank but the ranks saw 7 batches \(rank 0\), 7 batches \(rank 1\), 6 batches \(rank 2\)/ } });
});

t.test('evaluateModel options are validated', async (t) => {
  const { model } = fakeModel('sequence-classification');
  const data = batches('sequence-classification');
  const one = fakeGroup(2)[0]!;
  await t.rejects(evaluateModel(model, data, { collectives: { ...one, rank: 2 } }), { code: 'ERR_INVALID_ARG', message: /options\.collectives\.rank/ });
  await t.rejects(evaluateModel(model, data, { collectives: { rank: 0, worldSize: 2 } as never }), { code: 'ERR_INVALID_ARG', message: /options\.collectives\.allGather/ });
  await t.rejects(evaluateModel(model, data, { colectives: one } as never), { code: 'ERR_INVALID_ARG', message: /options\.colectives/ });
  await t.rejects(evaluateModel(model, data, { scorer: 'f1' } as never), { code: 'ERR_INVALID_ARG', message: /options\.scorer/ });
});

t.test('allGatherJson and fakeGroup', async (t) => {
  const group = fakeGroup(3);
  // Ranks arriving in any order get every rank's value in rank order, round after round.
  const rank = async (r: number) => {
    await new Promise((res) => setTimeout(res, (2 - r) * 5));
    const first = await allGatherJson(group[r]!, { r, x: 0.1 + r });
    const second = await allGatherJson(group[r]!, [r * 10]);
    return { first, second };
  };
  const out = await Promise.all([0, 1, 2].map(rank));
  for (const o of out) {
    t.same(o.first, [{ r: 0, x: 0.1 }, { r: 1, x: 1.1 }, { r: 2, x: 2.1 }]);
    t.same(o.second, [[0], [10], [20]]);
  }
  t.same(group.calls, [2, 2, 2]);
  await t.rejects(allGatherJson(fakeGroup(1)[0]!, { loss: Number.NaN }), { code: 'ERR_INVALID_ARG', message: /finite numbers only/ });
  t.same(await allGatherJson(fakeGroup(1)[0]!, { a: [1e-300, -0, 2 ** 53] }), [{ a: [1e-300, 0, 2 ** 53] }], 'numbers round-trip (but -0 becomes 0)');
});

const QA_WORDS = Array.from({ length: 30 }, (_, i) => `w${i}`);

/** SQuAD-style examples whose contexts need several windows, and a fake QA model over them. */
async function qaSetup(t: Test) {
  const dir = t.testdir();
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'what', 'is', '?', ...QA_WORDS].join('\n')}\n`);
  const tok = await loadTokenizer(dir);
  const examples: SquadExample[] = Array.from({ length: 6 }, (_, e) => {
    const context = QA_WORDS.slice(0, 12 + 3 * e).join(' ');
    const answer = QA_WORDS[(5 * e + 3) % (12 + 3 * e)]!;
    return { id: `q${e}`, title: '', question: `what is ${QA_WORDS[e]} ?`, context, answers: [{ text: answer, start: context.indexOf(answer) }] };
  });
  const features = prepareQaFeatures(tok, examples, { maxLength: 16, docStride: 3 });
  const qaModel = (): FakeModel => {
    const seen: LabeledBatch[] = [];
    const model = {
      task: 'question-answering',
      tokenizer: undefined,
      config: { padTokenId: 0 },
      async forward(batch: LabeledBatch): Promise<ForwardOutput> {
        seen.push(batch);
        const logits = Float32Array.from({ length: batch.batchSize * batch.seqLen * 2 }, (_, i) => {
          const tokenAt = Math.floor(i / 2);
          return noise(batch.inputIds[tokenAt]!, i % 2, tokenAt % batch.seqLen) * 4 - 2;
        });
        const loss = 0.5 + noise(batch.inputIds.reduce((a, x) => a + x, 0), batch.batchSize);
        return { logits, logitsShape: [batch.batchSize, batch.seqLen, 2], loss } as ForwardOutput;
      },
    } as unknown as Model;
    return { model, seen };
  };
  return { examples, features, qaModel };
}

t.test('sharded evaluateQa and predictQa: every rank gets the single-process answers and metrics', async (t) => {
  const { examples, features, qaModel } = await qaSetup(t);
  t.ok(features.length >= 15, `${features.length} features over ${examples.length} examples`);
  const options = { batchSize: 4, nBest: 5, maxAnswerLength: 4 };
  const single = await evaluateQa(qaModel().model, examples, features, options);
  const answers = await predictQa(qaModel().model, examples, features, options);
  t.ok(single.f1! > 0 && single.f1! < 1, `f1 ${single.f1} is informative`);
  for (const worldSize of [2, 3, 7]) {
    const group = fakeGroup(worldSize);
    const models = group.map(() => qaModel());
    const results = await Promise.all(group.map((collectives, r) => evaluateQa(models[r]!.model, examples, features, { ...options, collectives })));
    for (const [r, m] of results.entries()) {
      close(t, m, single, `QA rank ${r} of ${worldSize}`);
      t.same(m, single, `QA rank ${r} of ${worldSize}: identical`);
    }
    const batches = Math.ceil(features.length / options.batchSize);
    t.same(models.map((m) => m.seen.length), Array.from({ length: worldSize }, (_, r) => Math.ceil((batches - r) / worldSize)), `${worldSize} ranks: each ran its batches only`);
    const predicted = await Promise.all(fakeGroup(worldSize).map((collectives) => predictQa(qaModel().model, examples, features, { ...options, collectives })));
    for (const p of predicted) t.same(p, answers);
  }
  // Ranks given different features are refused, and none hangs.
  const group = fakeGroup(2);
  const runs = await Promise.allSettled(group.map((collectives, r) => evaluateQa(qaModel().model, examples, r === 0 ? features : features.slice(0, -1), { ...options, collectives })));
  for (const run of runs) t.match(run, { status: 'rejected', reason: { code: 'ERR_DISTRIBUTED', message: /the same QA features on every rank/ } });
  await t.rejects(evaluateQa(qaModel().model, examples, features, { collectives: { rank: 0, worldSize: 0, allGather: async () => [] } }), {
    code: 'ERR_INVALID_ARG',
    message: /options\.collectives\.worldSize/,
  });
});
