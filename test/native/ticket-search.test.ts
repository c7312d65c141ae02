// EarlyRobust end to end (lib/train/ticket-search.ts): the search trains slimming coefficients with FreeLB and
// their L1 penalty, stops at a ticket, and prunes; 'rewind' prunes the weights from before the search, 'search'
// those at the ticket; the pruned model then trains under another method.
import { join } from 'node:path';
import t from 'tap';
import { createModel } from '../../lib/model/model.js';
import { findTicket, resolveTickets } from '../../lib/train/ticket-search.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { readParams, snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();

const batches = Array.from({ length: 10 }, (_, i) => randomBatch({ task: 'sequence-classification', lengths: [9, 7, 5, 3], seqLen: 9, numLabels: 3, seed: 20 + i }));
// 2 layers x 4 heads, FFN 48: 1/4 of the heads (2) and half the neurons (48) go.
const tickets = { heads: 0.25, ffn: 0.5, pointsPerEpoch: 5, window: 2, epsilon: 0.2, maxSearchEpochs: 4, l1Heads: 1e-3, l1Ffn: 1e-3 };

t.test('findTicket: search, stop, prune to the ticket (weights rewound or from the search)', { skip }, async (t) => {
  const dir = t.testdir();
  for (const weights of ['rewind', 'search'] as const) {
    const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 3, seed: 3 });
    const start = await snapshot(model, join(dir, `${weights}-start`));
    const points: number[] = [];
    let told = 0;
    const r = await findTicket(model, batches, {
      tickets: { ...tickets, weights },
      optimizer: { name: 'adamw', lr: 5e-3 },
      seed: 1,
      onPoint: (p) => void points.push(p.step),
      callbacks: [{ onStepEnd: () => void told++ }],
    });
    t.equal(told, r.searchSteps, `${weights}: callbacks hear every search step`);
    t.strictSame(points, r.points.map((p) => p.step), `${weights}: onPoint saw every point`);
    t.ok(points.every((s, i) => s === 2 * (i + 1)), `${weights}: a point every 2 steps (10 batches, 5 points per epoch): ${points.join(',')}`);
    if (r.converged) t.equal(r.searchSteps, r.ticketStep + 2 * tickets.window, `${weights}: stops once the ticket's window is seen`);
    else t.equal(r.searchSteps, 40, `${weights}: ran the whole budget without a ticket`);
    t.strictSame([r.before.heads, r.after.heads, r.before.ffn, r.after.ffn], [8, 6, 96, 48], `${weights}: 2 heads and 48 neurons pruned`);
    t.ok(r.after.parameters < r.before.parameters);
    t.strictSame(r.layerHeads, r.masks.heads.map((m) => m.filter(Boolean).length));
    t.ok(r.layerHeads.every((h) => h >= 1) && r.layerFfn.every((f) => f >= 1), `${weights}: every layer keeps a head and a neuron`);
    t.equal(r.model.slimming, false, `${weights}: slimming ended with the pruning`);
    const after = await snapshot(r.model, join(dir, `${weights}-after`));
    // Embeddings are never pruned: they tell which weights the ticket starts from.
    const name = 'bert.embeddings.word_embeddings.weight';
    const same = after.get(name)!.every((v, i) => v === start.get(name)![i]);
    t.equal(same, weights === 'rewind', `${weights}: the pruned model has the ${weights === 'rewind' ? 'pre-search' : 'searched'} embeddings`);
    const trainer = new Trainer({ model: r.model, method: { name: 'creat' }, optimizer: { name: 'adamw', lr: 1e-3 } });
    const s = await trainer.step(batches[0]!);
    t.ok(Number.isFinite(s.loss) && !s.skipped, `${weights}: the ticket trains under CreAT`);
    trainer.dispose();
    r.model.dispose();
    if (weights === 'search') t.ok(readParams(join(dir, 'search-after', 'model.safetensors')).size > 0);
  }
});

t.test('findTicket validates its options', async (t) => {
  t.throws(() => resolveTickets({ heads: 1 }), { code: 'ERR_INVALID_ARG', message: /tickets\.heads/ });
  t.throws(() => resolveTickets({ epsilon: 0 }), { code: 'ERR_INVALID_ARG', message: /tickets\.epsilon/ });
  t.throws(() => resolveTickets({ weights: 'start' as 'rewind' }), { code: 'ERR_INVALID_ARG', message: /tickets\.weights/ });
  t.throws(() => resolveTickets({ window: 0 }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => resolveTickets({ searchMethod: { name: 'nope' } as never }), { code: 'ERR_INVALID_ARG' });
  t.strictSame(resolveTickets().searchMethod, { name: 'freelb', steps: 5, stepSize: 0.01, initMag: 0.05, epsilon: 0, norm: 'l2', syncDropout: false }, "the official search's FreeLB");
});
