/**
 * AdvGLUE (Wang et al., NeurIPS 2021 Datasets and Benchmarks, "Adversarial GLUE: A Multi-Task
 * Benchmark for Robustness Evaluation of Language Models"): one JSON file keyed by task, each task a
 * list of items with GLUE's field names, an integer `label` (Hugging Face GLUE label order) and `idx`.
 * A model fine-tuned on the original GLUE task is scored by plain accuracy on these items.
 */
import { GLUE_TASKS, type GlueTask } from './glue.js';
import { formatJsonPath, jsonPosition, parseJson, type JsonPath } from './json.js';
import { dataError, readText } from './source.js';
import type { TextExample } from './table.js';

/** The AdvGLUE tasks; `mnli-mm` is MNLI's mismatched split (same fields and labels as `mnli`). */
export type AdvGlueTask = 'sst2' | 'qqp' | 'mnli' | 'mnli-mm' | 'qnli' | 'rte';

/** Field names per task (the first text, then the second for pair tasks) and the GLUE preset whose labels apply. */
export const ADVGLUE_TASKS: Readonly<Record<AdvGlueTask, { fields: readonly string[]; glue: GlueTask }>> = Object.freeze({
  sst2: { fields: ['sentence'], glue: 'sst2' },
  qqp: { fields: ['question1', 'question2'], glue: 'qqp' },
  mnli: { fields: ['premise', 'hypothesis'], glue: 'mnli' },
  'mnli-mm': { fields: ['premise', 'hypothesis'], glue: 'mnli' },
  qnli: { fields: ['question', 'sentence'], glue: 'qnli' },
  rte: { fields: ['sentence1', 'sentence2'], glue: 'rte' },
});

/** One AdvGLUE item as a text example; `idx` is the item's id in the file. */
export interface AdvGlueExample extends TextExample {
  label: number;
  idx: number;
}

/** The tasks present in a file, in file order. */
export type AdvGlueSet = Partial<Record<AdvGlueTask, AdvGlueExample[]>>;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * Parses AdvGLUE JSON text already in memory; `file` names it in errors. Same as {@link readAdvGlue}.
 *
 * @example
 * ```ts
 * parseAdvGlue('{"sst2": [{"sentence": "a fine film", "label": 1, "idx": 0}]}', 'mem.json').sst2;
 * // [{ text: 'a fine film', label: 1, idx: 0 }]
 * ```
 */
export function parseAdvGlue(text: string, file: string): AdvGlueSet {
  const root = parseJson(text, file);
  const fail = (path: JsonPath, message: string): never => {
    throw dataError(file, jsonPosition(text, path), `${formatJsonPath(path)}: ${message}`);
  };
  if (typeof root !== 'object' || root === null || Array.isArray(root)) fail([], `expected an object keyed by task but found ${kindOf(root)}`);
  const out: AdvGlueSet = {};
  for (const [task, items] of Object.entries(root as Record<string, unknown>)) {
    if (!Object.hasOwn(ADVGLUE_TASKS, task)) fail([task], `unknown task "${task}" (known: ${Object.keys(ADVGLUE_TASKS).join(', ')})`);
    const spec = ADVGLUE_TASKS[task as AdvGlueTask];
    const numLabels = GLUE_TASKS[spec.glue].numLabels;
    if (!Array.isArray(items)) fail([task], `expected an array of items but found ${kindOf(items)}`);
    out[task as AdvGlueTask] = (items as unknown[]).map((item, i) => {
      const at: JsonPath = [task, i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(at, `expected an object but found ${kindOf(item)}`);
      const o = item as Record<string, unknown>;
      const field = (name: string): unknown => {
        if (o[name] === undefined) fail(at, `missing field "${name}"`);
        return o[name];
      };
      const texts = spec.fields.map((name) => {
        const s = field(name);
        if (typeof s !== 'string') fail([...at, name], `expected a string but found ${kindOf(s)}`);
        return s as string;
      });
      const label = field('label');
      if (!Number.isInteger(label) || (label as number) < 0 || (label as number) >= numLabels) {
        fail([...at, 'label'], `expected an integer label in [0, ${numLabels - 1}] but found ${JSON.stringify(label)}`);
      }
      const idx = field('idx');
      if (!Number.isInteger(idx) || (idx as number) < 0) fail([...at, 'idx'], `expected an integer >= 0 but found ${JSON.stringify(idx)}`);
      const ex: AdvGlueExample = { text: texts[0]!, label: label as number, idx: idx as number };
      if (texts.length === 2) ex.textPair = texts[1]!;
      return ex;
    });
  }
  return out;
}

/**
 * Reads an AdvGLUE-format file (e.g. the official `dev.json`). Bad files fail with `ERR_DATA` at
 * `file:line:col` with the JSON path of the bad value.
 *
 * @example
 * ```ts
 * const adv = await readAdvGlue('adv_glue/dev.json');
 * adv.rte?.length; // 81
 * ```
 */
export async function readAdvGlue(file: string): Promise<AdvGlueSet> {
  return parseAdvGlue(await readText(file), file);
}
