/**
 * EarlyRobust's masks, mask distance and stopping rule (lib/train/tickets.ts) against the official code:
 * test/fixtures/tickets/official.json holds the distances that WooooDyy/EarlyRobust's pruning_utils.py
 * computes for every pair of 20 seeded coefficient records, and the point its choose_slimming_step picks
 * (make_ticket_fixture.py); plus small cases worked by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { maskDistance, prunedIndices, quantile, searchPoints, TicketSearch, ticketMasks } from '../../lib/train/tickets.js';
import { repoRoot } from '../helpers/data.js';

interface Official {
  ratios: { heads: number; ffn: number };
  epsilon: number;
  window: number;
  heads: number[][][]; // [point][layer][head]
  ffn: number[][][];
  headDistance: number[][];
  ffnDistance: number[][];
  ticket: number | null;
}
const official = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'tickets', 'official.json'), 'utf8')) as Official;

t.test('quantile is numpy.quantile (linear)', async (t) => {
  t.equal(quantile([3, 1, 2, 4], 0.5), 2.5);
  t.equal(quantile([0.1, 0.2, 0.7, 0.8, 0.9, 1.0], 0.4), 0.7);
  t.equal(quantile([5], 0.3), 5);
  t.ok(Math.abs(quantile([1, 2, 3, 4, 5, 6, 7], 1 / 6) - 2) < 1e-12);
  t.throws(() => quantile([], 0.5), { code: 'ERR_INVALID_ARG' });
});

t.test('ticketMasks by hand: global quantiles, and no layer left without a head', async (t) => {
  // Heads at 0.4: threshold 0.7 empties layer 0, whose best head (0.2) becomes +inf: threshold 0.8 then
  // empties layer 2, whose best head (0.8) becomes +inf: threshold 0.9.
  const m = ticketMasks({ heads: [[0.1, 0.2], [0.9, 1.0], [0.8, 0.7]], ffn: [[0.5, 0.1], [0.3, 0.2], [0.6, 0.4]] }, { heads: 0.4, ffn: 0.5 });
  t.strictSame(m.heads, [[false, true], [false, true], [true, false]]);
  // FFN at 0.5 of [0.1 .. 0.6]: 0.35; no per-layer guarantee for neurons (layer 1 loses all).
  t.strictSame(m.ffn, [[true, false], [false, false], [true, true]]);
  t.strictSame(prunedIndices(m), { heads: [[0], [0], [1]], ffn: [[1], [0, 1], []] });
  t.throws(() => ticketMasks({ heads: [[1]], ffn: [] }), { code: 'ERR_INVALID_ARG', message: /1 layers of heads and 0 of ffn/ });
  t.throws(() => ticketMasks({ heads: [[1]], ffn: [[1]] }, { heads: 1, ffn: 0.4 }), { code: 'ERR_INVALID_ARG' });
});

t.test('maskDistance is the normalised Hamming distance', async (t) => {
  t.equal(maskDistance([[true, false], [true, true]], [[true, true], [false, true]]), 0.5);
  t.equal(maskDistance([[true]], [[true]]), 0);
  t.throws(() => maskDistance([[true]], [[true, false]]), { code: 'ERR_INVALID_ARG' });
});

t.test("every pair's distance equals pruning_utils.py's on 20 seeded records", async (t) => {
  const masks = official.heads.map((heads, p) => ticketMasks({ heads, ffn: official.ffn[p]! }, official.ratios));
  let worst = 0;
  for (let a = 0; a < masks.length; a++) {
    for (let b = a; b < masks.length; b++) {
      worst = Math.max(worst, Math.abs(maskDistance(masks[a]!.heads, masks[b]!.heads) - official.headDistance[a]![b]!));
      worst = Math.max(worst, Math.abs(maskDistance(masks[a]!.ffn, masks[b]!.ffn) - official.ffnDistance[a]![b]!));
    }
  }
  // The official figures are float32 tensors; one differing position moves a distance by >= 1/30.
  t.ok(worst < 1e-6, `worst difference ${worst}`);
  t.ok(official.headDistance[0]![1]! > 0 && official.ffnDistance[0]![1]! > 0, 'the early masks do move (the fixture is not trivial)');
});

t.test("TicketSearch picks choose_slimming_step's point, as soon as it is certain", async (t) => {
  t.equal(official.ticket, 7, 'the fixture converges part-way');
  const search = new TicketSearch({ window: official.window, epsilon: official.epsilon });
  let foundAt = -1;
  official.heads.forEach((heads, p) => {
    const got = search.add(p + 1, ticketMasks({ heads, ffn: official.ffn[p]! }, official.ratios));
    if (got && foundAt < 0) foundAt = p;
  });
  t.equal(search.ticket?.step, official.ticket! + 1, 'the ticket is the official point');
  t.equal(foundAt, official.ticket! + official.window, 'known once its window has been seen');
  t.ok(Math.abs(search.points[1]!.headDistance! - official.headDistance[0]![1]!) < 1e-6);
  t.equal(search.points[0]!.headDistance, null);
  t.throws(() => search.add(3, search.points[0]!.masks), { code: 'ERR_INVALID_ARG' }, 'steps only move forward');
  t.throws(() => new TicketSearch({ window: 0, epsilon: 0.1 }), { code: 'ERR_INVALID_ARG' });
});

t.test('searchPoints: pointsPerEpoch evenly spaced steps per epoch', async (t) => {
  t.strictSame(searchPoints(100, 4, 2), [25, 50, 75, 100, 125, 150, 175, 200]);
  t.strictSame(searchPoints(3, 20, 1), [1, 2, 3], 'fewer steps than points: each step once');
  t.throws(() => searchPoints(0, 20, 1), { code: 'ERR_INVALID_ARG' });
});
