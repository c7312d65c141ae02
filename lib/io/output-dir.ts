/**
 * Output folders of training runs and reports: created and probed for writing before any work, never
 * shared by two runs, and cleared of the temporary folders a killed run leaves behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AdvtrainError } from '../errors.js';

/** A file-system failure on `path`, as an AdvtrainError that names it. */
export function ioError(path: string, what: string, err: unknown): AdvtrainError {
  const e = err as NodeJS.ErrnoException;
  return new AdvtrainError(`${path}: ${what}: ${e.code ? `${e.code} (${e.message})` : String(e.message ?? err)}`, 'ERR_IO', { cause: err });
}

/**
 * Creates `dir` (and missing parents) and checks that a file can be written in it. Parents are made one
 * level at a time: Node's recursive mkdir loops forever on some virtual file systems (under /proc).
 */
export function ensureWritableDir(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  while (!existsSync(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  if (!missing.length && !statSync(abs).isDirectory()) throw new AdvtrainError(`${dir}: exists and is not a folder`, 'ERR_IO');
  if (missing.length && existsSync(p) && !statSync(p).isDirectory()) throw new AdvtrainError(`${dir}: cannot create the folder: ${p} is not a folder`, 'ERR_IO');
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(dir, `cannot create the folder (at ${m})`, err);
    }
  }
  const probe = join(abs, `.advtrain-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw ioError(dir, 'cannot write in the folder', err);
  }
}

/** Files and folders a training run writes into its output folder (what --overwrite clears). */
const RUN_FILES = new Set([
  'metrics.jsonl',
  'model.safetensors',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'advtrain-manifest.json',
]);
const CHECKPOINT = /^checkpoint-(\d+)$/;
/** A checkpoint being written (`.checkpoint-N.tmp-XXXX`, and `.old` while it replaces another), or the final model (`.advtrain-save.tmp-XXXX`). */
const CHECKPOINT_TMP = /^\.(checkpoint-\d+|advtrain-save)\.tmp-[0-9a-f]+(\.old)?$/;

/** The checkpoint-N folders of `dir`, oldest step first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ m: CHECKPOINT.exec(name), name }))
    .filter(({ m, name }) => m && statSync(join(dir, name)).isDirectory())
    .map(({ m, name }) => ({ step: Number(m![1]), path: join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

/** Names in `dir` that show a training run wrote there: metrics.jsonl, a model, checkpoints. */
export function runArtefacts(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).filter((n) => n === 'metrics.jsonl' || n === 'model.safetensors' || CHECKPOINT.test(n));
}

export interface RunDirOptions {
  /** Clear what a previous run left (its model, checkpoints, metrics.jsonl) instead of refusing. */
  overwrite?: boolean;
  /** The run continues from a checkpoint: the folder may hold the run it continues. */
  resume?: boolean;
  /** How the caller names the two options in the refusal (the CLI's flags or the API's fields). */
  names?: { overwrite: string; resume: string };
}

/**
 * Makes `dir` ready for a training run: refuses a folder that holds another run (unless `overwrite`,
 * which clears that run's files, or `resume`), creates it, checks it is writable and removes the
 * temporary folders of checkpoints a killed run was writing.
 */
export function prepareRunDir(dir: string, options: RunDirOptions = {}): void {
  const names = options.names ?? { overwrite: 'overwriteOutputDir: true', resume: 'resumeFrom' };
  const found = runArtefacts(dir);
  if (found.length && !options.resume) {
    if (!options.overwrite) {
      throw new AdvtrainError(
        `${dir} holds another run (${found.slice(0, 4).join(', ')}${found.length > 4 ? ', ...' : ''}); ` +
          `choose a new folder, pass ${names.overwrite} to clear it, or ${names.resume} to continue it`,
        'ERR_INVALID_ARG',
      );
    }
    for (const name of readdirSync(dir)) {
      if (RUN_FILES.has(name) || CHECKPOINT.test(name) || CHECKPOINT_TMP.test(name)) {
        try {
          rmSync(join(dir, name), { recursive: true, force: true });
        } catch (err) {
          throw ioError(join(dir, name), 'cannot remove', err);
        }
      }
    }
  }
  ensureWritableDir(dir);
  removeCheckpointLeftovers(dir);
}

/** Removes `.checkpoint-N.tmp-*` folders: checkpoints a killed run never finished. */
export function removeCheckpointLeftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!CHECKPOINT_TMP.test(name)) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
    } catch (err) {
      throw ioError(join(dir, name), 'cannot remove an unfinished checkpoint', err);
    }
    removed.push(name);
  }
  return removed;
}

/** Keeps the newest `limit` checkpoints (by step) of `dir` and `keep`; deletes the others (transformers' save_total_limit). */
export function rotateCheckpoints(dir: string, limit: number, keep: string): string[] {
  const all = listCheckpoints(dir).filter((c) => resolve(c.path) !== resolve(keep));
  const excess = all.length + 1 - limit;
  const removed = excess > 0 ? all.slice(0, excess) : [];
  for (const c of removed) {
    try {
      rmSync(c.path, { recursive: true, force: true });
    } catch (err) {
      throw ioError(c.path, 'cannot remove an old checkpoint', err);
    }
  }
  return removed.map((c) => c.path);
}
