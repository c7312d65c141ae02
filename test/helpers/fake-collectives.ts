/**
 * In-process stand-ins for a process group: N "ranks" in one event loop, whose allGather resolves
 * when every rank of the group has called it for the same round. Run the ranks with Promise.all.
 */
import type { Collectives } from '../../lib/distributed/collectives.js';

/** A group of `worldSize` fake ranks; `calls` counts each rank's allGather calls. */
export function fakeGroup(worldSize: number): Collectives[] & { calls: number[] } {
  // round -> the bytes each rank sent, and the resolvers of the ranks waiting on it.
  const rounds = new Map<number, { bytes: (Uint8Array | undefined)[]; waiting: ((all: Uint8Array[]) => void)[] }>();
  const calls = new Array<number>(worldSize).fill(0);
  const ranks = Array.from({ length: worldSize }, (_, rank): Collectives => ({
    rank,
    worldSize,
    allGather(bytes: Uint8Array): Promise<Uint8Array[]> {
      const round = calls[rank]++;
      let r = rounds.get(round);
      if (!r) rounds.set(round, (r = { bytes: new Array(worldSize).fill(undefined), waiting: [] }));
      // A copy, as a real transport would send: the caller may reuse its buffer.
      r.bytes[rank] = bytes.slice();
      const entry = r;
      return new Promise((resolve) => {
        entry.waiting.push(resolve);
        if (entry.bytes.every((b) => b !== undefined)) {
          rounds.delete(round);
          // Each rank gets its own copies.
          for (const done of entry.waiting) done(entry.bytes.map((b) => b!.slice()));
        }
      });
    },
  }));
  return Object.assign(ranks, { calls });
}
