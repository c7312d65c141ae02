/**
 * GLUE task presets (Wang et al., 2019, "GLUE: A Multi-Task Benchmark and Analysis Platform for
 * Natural Language Understanding"). Each preset reads both distributions of the TSV files: the
 * original GLUE download (task-specific column names, string labels for RTE/QNLI/MNLI, no header for
 * CoLA) and the export of the Hugging Face `glue` data set (`sentence1\tsentence2\tlabel\tidx`-style
 * headers, numeric labels). Label ids follow the Hugging Face order, so both variants agree.
 */
import * as v from '../validate.js';
import { readText } from './source.js';
import { parseTable, type LabelMap, type TableColumns, type TextExample } from './table.js';

/** The GLUE tasks (AX, the diagnostic set, is test-only and left out). */
export type GlueTask = 'sst2' | 'cola' | 'mrpc' | 'stsb' | 'qqp' | 'mnli' | 'qnli' | 'rte' | 'wnli';

/** The metrics GLUE reports; see `lib/metrics`. */
export type GlueMetric = 'accuracy' | 'f1' | 'matthews' | 'pearson' | 'spearman';

/** What a GLUE task needs to be read, trained and scored. */
export interface GluePreset {
  readonly task: GlueTask;
  readonly type: 'classification' | 'regression';
  /** Output size of the head: classes, or 1 for regression. */
  readonly numLabels: number;
  /** Class names by id (empty for regression). */
  readonly labelNames: readonly string[];
  /** Header names of each field, the first present wins (original GLUE name first). */
  readonly columns: { readonly text: readonly string[]; readonly textPair?: readonly string[]; readonly label: readonly string[] };
  /** Column indices of header-less files (original CoLA train/dev). */
  readonly headerless?: { readonly text: number; readonly label: number };
  /** Accepts the class names and their ids written as numbers. */
  readonly labelMap: LabelMap;
  /** What the GLUE leaderboard reports for the task. */
  readonly metrics: readonly GlueMetric[];
  /** File names of the splits in a task folder. */
  readonly splits: Readonly<Record<string, string>>;
}

const SPLITS = { train: 'train.tsv', validation: 'dev.tsv', test: 'test.tsv' } as const;

/** Class names mapped to ids, plus each id written as a number ('0', '1', ...). */
function namesAndIds(labelNames: readonly string[]): Record<string, number> {
  const map: Record<string, number> = {};
  labelNames.forEach((name, id) => {
    map[name] = id;
    map[String(id)] = id;
  });
  return map;
}

function classification(
  task: GlueTask,
  labelNames: readonly string[],
  columns: GluePreset['columns'],
  metrics: readonly GlueMetric[],
  extra: Partial<GluePreset> = {},
): GluePreset {
  return Object.freeze({
    task,
    type: 'classification',
    numLabels: labelNames.length,
    labelNames,
    columns,
    labelMap: Object.freeze(namesAndIds(labelNames)),
    metrics,
    splits: SPLITS,
    ...extra,
  });
}

const STSB = Object.freeze<GluePreset>({
  task: 'stsb',
  type: 'regression',
  numLabels: 1,
  labelNames: [],
  columns: { text: ['sentence1'], textPair: ['sentence2'], label: ['score', 'label'] },
  labelMap: 'float',
  metrics: ['pearson', 'spearman'],
  splits: SPLITS,
});

const PAIR = { text: ['sentence1'], textPair: ['sentence2'], label: ['label'] } as const;
const NLI = ['entailment', 'not_entailment'] as const;

/**
 * The presets, by task.
 *
 * @example
 * ```ts
 * GLUE_TASKS.mrpc.metrics;          // ['accuracy', 'f1']
 * GLUE_TASKS.mnli.splits.validation_mismatched; // 'dev_mismatched.tsv'
 * ```
 */
export const GLUE_TASKS: Readonly<Record<GlueTask, GluePreset>> = Object.freeze({
  sst2: classification('sst2', ['negative', 'positive'], { text: ['sentence'], label: ['label'] }, ['accuracy']),
  // Original train/dev: no header, columns source, label, original judgement, sentence.
  cola: classification('cola', ['unacceptable', 'acceptable'], { text: ['sentence'], label: ['label'] }, ['matthews'], {
    headerless: { text: 3, label: 1 },
  }),
  mrpc: classification('mrpc', ['not_equivalent', 'equivalent'], { text: ['#1 String', 'sentence1'], textPair: ['#2 String', 'sentence2'], label: ['Quality', 'label'] }, [
    'accuracy',
    'f1',
  ]),
  stsb: STSB,
  qqp: classification('qqp', ['not_duplicate', 'duplicate'], { text: ['question1'], textPair: ['question2'], label: ['is_duplicate', 'label'] }, ['accuracy', 'f1']),
  mnli: classification(
    'mnli',
    ['entailment', 'neutral', 'contradiction'],
    { text: ['sentence1', 'premise'], textPair: ['sentence2', 'hypothesis'], label: ['gold_label', 'label'] },
    ['accuracy'],
    {
      splits: {
        train: 'train.tsv',
        validation_matched: 'dev_matched.tsv',
        validation_mismatched: 'dev_mismatched.tsv',
        test_matched: 'test_matched.tsv',
        test_mismatched: 'test_mismatched.tsv',
      },
    },
  ),
  qnli: classification('qnli', NLI, { text: ['question'], textPair: ['sentence'], label: ['label'] }, ['accuracy']),
  rte: classification('rte', NLI, PAIR, ['accuracy']),
  wnli: classification('wnli', ['not_entailment', 'entailment'], PAIR, ['accuracy']),
});

const TASKS = Object.keys(GLUE_TASKS) as GlueTask[];

export interface ReadGlueOptions {
  /** Read the label column (default true); false for test files, whose labels are absent or -1. */
  labels?: boolean;
}

/**
 * Parses GLUE TSV text already in memory; `file` names it in errors. Same as {@link readGlue}.
 *
 * @example
 * ```ts
 * parseGlue('sst2', 'sentence\tlabel\nnice\t1\n', 'mem.tsv'); // [{ text: 'nice', label: 1 }]
 * ```
 */
export function parseGlue(task: GlueTask, text: string, file: string, options: ReadGlueOptions = {}): TextExample[] {
  const preset = GLUE_TASKS[v.oneOf('task', task, TASKS)];
  const o = v.object('options', options);
  v.knownKeys('options', o, ['labels']);
  const labels = o.labels === undefined ? true : v.boolean('options.labels', o.labels);
  const { text: textCols, textPair, label } = preset.columns;
  const newline = text.indexOf('\n');
  const firstLine = (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, '').split('\t');
  // Header-less only where the task has such files and the first line names no text column.
  const headerless = preset.headerless !== undefined && !textCols.some((name) => firstLine.includes(name)) ? preset.headerless : undefined;
  const columns: TableColumns = headerless ? { text: headerless.text } : { text: textCols };
  if (textPair && !headerless) columns.textPair = textPair;
  if (labels) columns.label = headerless ? headerless.label : label;
  return parseTable(text, file, { format: 'tsv', header: !headerless, columns, labelMap: preset.labelMap });
}

/**
 * Reads one GLUE split file with the task's preset: `text`, `textPair` for pair tasks, and `label`
 * as a class id (or a float score for stsb). Bad rows fail with `ERR_DATA` at `file:line:col`.
 *
 * @example
 * ```ts
 * const dev = await readGlue('rte', join(dir, GLUE_TASKS.rte.splits.validation));
 * const mm = await readGlue('mnli', join(mnliDir, GLUE_TASKS.mnli.splits.validation_mismatched));
 * const test = await readGlue('sst2', join(dir, 'test.tsv'), { labels: false });
 * ```
 */
export async function readGlue(task: GlueTask, file: string, options: ReadGlueOptions = {}): Promise<TextExample[]> {
  v.oneOf('task', task, TASKS);
  return parseGlue(task, await readText(file), file, options);
}
