/**
 * AdvGLUE (Wang et al. 2021, "Adversarial GLUE") dev sets: one JSON file keyed by task (sst2, qqp,
 * mnli, mnli-mm, qnli, rte), each a list of items with GLUE's field names, `label` and `idx`.
 */
import { readFile } from 'node:fs/promises';
import { dataError } from './source.js';
import type { TextExample } from './table.js';

export const ADVGLUE_TASKS = ['sst2', 'qqp', 'mnli', 'mnli-mm', 'qnli', 'rte'] as const;
export type AdvGlueTask = (typeof ADVGLUE_TASKS)[number];

const FIELDS: Record<AdvGlueTask, [string, string?]> = {
  sst2: ['sentence'],
  qqp: ['question1', 'question2'],
  mnli: ['premise', 'hypothesis'],
  'mnli-mm': ['premise', 'hypothesis'],
  qnli: ['question', 'sentence'],
  rte: ['sentence1', 'sentence2'],
};

/**
 * Reads an AdvGLUE-format file into examples per task (only the tasks the file has).
 *
 * @example
 * ```ts
 * const sets = await readAdvGlue('dev.json');
 * sets.sst2?.length; // 148 in the official dev set
 * ```
 */
export async function readAdvGlue(file: string): Promise<Partial<Record<AdvGlueTask, TextExample[]>>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw dataError(file, { line: 0, column: 0 }, e.code === 'ENOENT' ? 'no such file' : `not valid JSON: ${e.message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw dataError(file, { line: 1, column: 1 }, 'expected an object keyed by task');
  const out: Partial<Record<AdvGlueTask, TextExample[]>> = {};
  for (const [task, items] of Object.entries(json as Record<string, unknown>)) {
    if (!(ADVGLUE_TASKS as readonly string[]).includes(task)) throw dataError(file, { line: 0, column: 0 }, `unknown task '${task}' (expected ${ADVGLUE_TASKS.join(', ')})`);
    if (!Array.isArray(items)) throw dataError(file, { line: 0, column: 0 }, `${task}: expected an array of items`);
    const [a, b] = FIELDS[task as AdvGlueTask];
    out[task as AdvGlueTask] = items.map((item, i) => {
      const path = `${task}[${i}]`;
      if (typeof item !== 'object' || item === null) throw dataError(file, { line: 0, column: 0 }, `${path}: expected an object`);
      const o = item as Record<string, unknown>;
      for (const f of [a, b].filter((x): x is string => x !== undefined)) {
        if (typeof o[f] !== 'string') throw dataError(file, { line: 0, column: 0 }, `${path}.${f}: expected a string, got ${JSON.stringify(o[f])}`);
      }
      if (typeof o.label !== 'number' || !Number.isInteger(o.label) || o.label < 0) throw dataError(file, { line: 0, column: 0 }, `${path}.label: expected a class id, got ${JSON.stringify(o.label)}`);
      return b ? { text: o[a] as string, textPair: o[b] as string, label: o.label } : { text: o[a] as string, label: o.label };
    });
  }
  return out;
}
