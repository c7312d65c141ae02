/** What the CLI commands need to read, encode and score a task's data files. */
import { BatchLoader, collateTexts, encodeTexts, type EncodedText } from '../data/batching.js';
import { GLUE_TASKS, readGlue, type GlueTask } from '../data/glue.js';
import { readTable, type TextExample } from '../data/table.js';
import { glueScores } from '../metrics/glue.js';
import type { LabeledBatch } from '../model/batch.js';
import type { Task } from '../model/config.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Scorer } from '../train/evaluate.js';
import type { ParsedArgs } from './command.js';
import { UsageError } from './command.js';

export const CLI_TASKS = [...(Object.keys(GLUE_TASKS) as GlueTask[]), 'table'] as const;
export type CliTask = (typeof CLI_TASKS)[number];

export interface TaskSpec {
  name: CliTask;
  modelTask: Extract<Task, 'sequence-classification' | 'regression'>;
  /** Class names (empty for regression). */
  labels: string[];
  scorer?: Scorer;
  read(file: string): Promise<TextExample[]>;
}

/**
 * A GLUE preset, or `table` with `--columns text=NAME[,pair=NAME][,label=NAME]` and
 * `--labels a,b,...` (or `--regression`) for any TSV/CSV/JSONL file.
 */
export function taskSpec(args: ParsedArgs): TaskSpec {
  const name = args.task;
  if (typeof name !== 'string' || !(CLI_TASKS as readonly string[]).includes(name)) throw new UsageError(`--task must be one of ${CLI_TASKS.join(', ')}`);
  if (name !== 'table') {
    const preset = GLUE_TASKS[name as GlueTask];
    return {
      name: name as CliTask,
      modelTask: preset.type === 'regression' ? 'regression' : 'sequence-classification',
      labels: [...preset.labelNames],
      scorer: (p, r) => glueScores(name as GlueTask, p, r),
      read: (file) => readGlue(name as GlueTask, file),
    };
  }
  if (typeof args.columns !== 'string') throw new UsageError('--task table needs --columns text=NAME[,pair=NAME][,label=NAME]');
  const cols: Record<string, string> = {};
  for (const part of args.columns.split(',')) {
    const [k, v] = part.split('=');
    if (!k || !v || !['text', 'pair', 'label'].includes(k)) throw new UsageError(`--columns: expected text=NAME, pair=NAME or label=NAME, got '${part}'`);
    cols[k] = v;
  }
  if (!cols.text) throw new UsageError('--columns needs text=NAME');
  const regression = args.regression === true;
  const labels = regression ? [] : typeof args.labels === 'string' ? args.labels.split(',') : [];
  if (!regression && labels.length < 2) throw new UsageError('--task table needs --labels NAME,NAME[,...] (or --regression)');
  const labelMap = regression ? ('float' as const) : Object.fromEntries(labels.flatMap((l, i) => [[l, i], [String(i), i]]));
  return {
    name: 'table',
    modelTask: regression ? 'regression' : 'sequence-classification',
    labels,
    read: (file) => readTable(file, { columns: { text: cols.text!, textPair: cols.pair, label: cols.label ?? 'label' }, labelMap }),
  };
}

/** Tokenises examples once (truncated to maxLength, longest_first for pairs). */
export function encodeExamples(tokenizer: Tokenizer, examples: TextExample[], maxLength: number): EncodedText[] {
  return encodeTexts(examples, (a, b) => tokenizer.encode(b === undefined ? a : [a, b], { maxLength }), { maxLength });
}

/** Seeded, length-bucketed, resumable training batches. */
export function trainLoader(items: EncodedText[], padId: number, task: TaskSpec['modelTask'], batchSize: number, seed: number): BatchLoader<EncodedText, LabeledBatch> {
  const kind = task === 'regression' ? 'regression' : 'classification';
  return new BatchLoader(items, (xs) => collateTexts(xs, { padId, task: kind }), { batchSize, seed, bucket: true });
}

/** Evaluation batches in file order (sorted by length within chunks would change nothing but speed). */
export function evalBatches(items: EncodedText[], padId: number, task: TaskSpec['modelTask'], batchSize: number): LabeledBatch[] {
  const kind = task === 'regression' ? 'regression' : 'classification';
  const out: LabeledBatch[] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(collateTexts(items.slice(i, i + batchSize), { padId, task: kind }));
  return out;
}
