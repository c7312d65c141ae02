/**
 * The collective operations the data and evaluation code needs from a process group, as a small
 * interface: the native c10d group implements it, tests use in-process fakes.
 */
import { AdvtrainError, invalidArg } from '../errors.js';
import * as v from '../validate.js';

/** What the data and evaluation code needs from the process group (the lead implements it natively). */
export interface Collectives {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's bytes, in rank order (the calling rank's own included). All ranks must call it. */
  allGather(bytes: Uint8Array): Promise<Uint8Array[]>;
}

/**
 * Checks a {@link Collectives}: integer `rank` in [0, worldSize), `worldSize` >= 1, an `allGather`
 * function.
 */
export function checkCollectives(name: string, value: unknown): Collectives {
  if (typeof value !== 'object' || value === null) throw invalidArg(name, 'a Collectives object ({ rank, worldSize, allGather })', value);
  const c = value as Record<string, unknown>;
  const worldSize = v.integer(`${name}.worldSize`, c.worldSize, { min: 1 });
  v.integer(`${name}.rank`, c.rank, { min: 0, max: worldSize - 1 });
  if (typeof c.allGather !== 'function') throw invalidArg(`${name}.allGather`, 'a function', c.allGather);
  return value as Collectives;
}

/** Calls allGather and checks it answered one Uint8Array per rank. */
async function gather(c: Collectives, bytes: Uint8Array): Promise<Uint8Array[]> {
  const all = await c.allGather(bytes);
  if (!Array.isArray(all) || all.length !== c.worldSize || !all.every((b) => b instanceof Uint8Array)) {
    throw new AdvtrainError(`allGather on rank ${c.rank} returned ${Array.isArray(all) ? `${all.length} items` : typeof all}; expected ${c.worldSize} Uint8Arrays, one per rank`, 'ERR_DISTRIBUTED');
  }
  return all;
}

// JSON.stringify turns NaN and ±Infinity into null and would corrupt a sum silently: refuse them.
function finiteOnly(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw invalidArg(`value${key === '' ? '' : ` (key '${key}')`}`, 'JSON-serialisable data (finite numbers only; encode NaN and Infinity yourself)', value);
  return value;
}

/**
 * JSON-serialisable values gathered from every rank, in rank order. Numbers round-trip exactly
 * (JSON keeps the shortest text that reads back as the same double); a non-finite number is an
 * `ERR_INVALID_ARG` on the rank that holds it (JSON would make it null), and that rank then does not
 * take part in the gather, so throw it only where every rank would.
 *
 * @example
 * ```ts
 * const counts = await allGatherJson(group, { correct: 41, total: 50 }); // [{...rank 0}, {...rank 1}]
 * ```
 */
export async function allGatherJson<T>(c: Collectives, value: T): Promise<T[]> {
  const bytes = new TextEncoder().encode(JSON.stringify(value, finiteOnly));
  const decoder = new TextDecoder();
  return (await gather(c, bytes)).map((b) => JSON.parse(decoder.decode(b)) as T);
}

/**
 * Runs `work` on this rank and gathers its bytes from every rank; when `work` throws on any rank,
 * every rank still takes part in the gather (so none waits forever) and then throws: the failing rank
 * its own error, the others an `ERR_DISTRIBUTED` naming the failed ranks and their messages.
 */
export async function allGatherSettled(c: Collectives, work: () => Promise<Uint8Array>): Promise<Uint8Array[]> {
  let local: Uint8Array;
  let failure: { error: unknown } | undefined;
  try {
    const bytes = await work();
    // A leading 0 marks a result, 1 an error message.
    local = new Uint8Array(bytes.length + 1);
    local.set(bytes, 1);
  } catch (error) {
    failure = { error };
    const text = new TextEncoder().encode(error instanceof Error ? error.message : String(error));
    local = new Uint8Array(text.length + 1);
    local[0] = 1;
    local.set(text, 1);
  }
  const all = await gather(c, local);
  if (failure) throw failure.error;
  const failed = all.flatMap((b, rank) => (b[0] === 0 ? [] : [`rank ${rank}: ${new TextDecoder().decode(b.subarray(1))}`]));
  if (failed.length > 0) throw new AdvtrainError(`Another rank failed, so rank ${c.rank} stops too (${failed.join('; ')})`, 'ERR_DISTRIBUTED');
  return all.map((b) => b.subarray(1));
}
