/** What the CLI commands need to read, encode, batch and score a task's data files. */
import { BatchLoader, collateChoices, collateTagged, collateTexts, encodeChoices, encodeTagged, encodeTexts, type EncodedText } from '../data/batching.js';
import { readMultipleChoice, type MultipleChoiceFields } from '../data/choice.js';
import { buildTagList, readConll } from '../data/conll.js';
import { GLUE_TASKS, readGlue, type GlueTask } from '../data/glue.js';
import { readSquad } from '../data/squad.js';
import { readTable, type TextExample } from '../data/table.js';
import { AdvtrainError } from '../errors.js';
import { glueScores } from '../metrics/glue.js';
import type { LabeledBatch } from '../model/batch.js';
import { maxSeqLen, type Task } from '../model/config.js';
import type { Model } from '../model/model.js';
import { collectives } from '../distributed/group.js';
import { collateQa, evaluateQa, prepareQaFeatures, QA_DEFAULTS } from '../tasks/qa.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { evaluateModel, type Scorer } from '../train/evaluate.js';
import type { Evaluator, TrainData } from '../train/trainer.js';
import type { ParsedArgs } from './command.js';
import { UsageError } from './command.js';

/** The tasks that read texts with a label per text (predict labels their files). */
export const TEXT_TASKS = [...(Object.keys(GLUE_TASKS) as GlueTask[]), 'table'] as const;
export const CLI_TASKS = [...TEXT_TASKS, 'conll', 'squad', 'choice'] as const;
export type CliTask = (typeof CLI_TASKS)[number];

/** Tokens per example when --max-length is not given. */
const DEFAULT_MAX_LENGTH = 128;

/** How one data file is encoded. */
export interface LoadOptions {
  maxLength: number;
  /** squad: context tokens shared by consecutive windows. */
  docStride: number;
  /** The model's label names: conll tags map to ids through them. */
  labels: readonly string[];
}

/** One data file, read and encoded once. */
export interface TaskData {
  /** Seeded, length-bucketed, resumable training batches. */
  trainData(batchSize: number, seed: number): TrainData;
  /** Loss and the task's metrics of a model on this file (Trainer.fit's evalData, and eval). */
  evaluator(batchSize: number): Evaluator;
}

export interface TaskSpec {
  name: CliTask;
  modelTask: Extract<Task, 'sequence-classification' | 'regression' | 'token-classification' | 'question-answering' | 'multiple-choice'>;
  /** Tokens per example when --max-length is not given. */
  maxLength: number;
  /** The head's label names for a training file: the GLUE preset's or --labels, conll's tag list; none for regression, squad and choice. */
  trainLabels(file: string): Promise<string[]>;
  /** Reads and encodes a file. */
  load(file: string, tokenizer: Tokenizer, options: LoadOptions): Promise<TaskData>;
  /** GLUE and table tasks: the texts of a file, for predict. */
  readTexts?(file: string): Promise<TextExample[]>;
}

/**
 * A GLUE preset; `table` with `--columns text=NAME[,pair=NAME][,label=NAME]` and `--labels a,b,...`
 * (or `--regression`) for any TSV/CSV/JSONL file; `conll` (token classification, tags from the
 * training file); `squad` (SQuAD v1.1 JSON, windowed by --doc-stride); `choice` (multiple-choice JSONL,
 * `--fields context=NAME,endings=NAME,label=NAME`).
 */
export function taskSpec(args: ParsedArgs): TaskSpec {
  const name = args.task;
  if (typeof name !== 'string' || !(CLI_TASKS as readonly string[]).includes(name)) throw new UsageError(`--task must be one of ${CLI_TASKS.join(', ')}`);
  // Flags of another task would be ignored silently: refuse them.
  for (const flag of ['columns', 'labels', 'regression']) if (args[flag] !== undefined && name !== 'table') throw new UsageError(`--${flag} applies to --task table only (--task ${name} fixes its own columns and labels)`);
  if (args.fields !== undefined && name !== 'choice') throw new UsageError(`--fields applies to --task choice only`);
  if (name === 'conll') return conllSpec();
  if (name === 'squad') return squadSpec();
  if (name === 'choice') return choiceSpec(choiceFields(args.fields));
  if (name !== 'table') {
    const preset = GLUE_TASKS[name as GlueTask];
    return textSpec(
      name as CliTask,
      preset.type === 'regression' ? 'regression' : 'sequence-classification',
      [...preset.labelNames],
      (file) => readGlue(name as GlueTask, file),
      (p, r) => glueScores(name as GlueTask, p, r),
    );
  }
  if (typeof args.columns !== 'string') throw new UsageError('--task table needs --columns text=NAME[,pair=NAME][,label=NAME]');
  const cols = keyValues('columns', args.columns, ['text', 'pair', 'label']);
  if (!cols.text) throw new UsageError('--columns needs text=NAME');
  const regression = args.regression === true;
  const labels = regression ? [] : typeof args.labels === 'string' ? args.labels.split(',') : [];
  if (!regression && labels.length < 2) throw new UsageError('--task table needs --labels NAME,NAME[,...] (or --regression)');
  const labelMap = regression ? ('float' as const) : Object.fromEntries(labels.flatMap((l, i) => [[l, i], [String(i), i]]));
  return textSpec('table', regression ? 'regression' : 'sequence-classification', labels, (file) =>
    readTable(file, { columns: { text: cols.text!, textPair: cols.pair, label: cols.label ?? 'label' }, labelMap }),
  );
}

/** `k=v,k=v` with known keys, each at most once. */
function keyValues(flag: string, raw: string, keys: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    const [k, v] = [part.slice(0, eq), part.slice(eq + 1)];
    if (eq <= 0 || !v || !keys.includes(k)) {
      const forms = keys.map((key) => `${key}=NAME`);
      throw new UsageError(`--${flag}: expected ${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}, got '${part}'`);
    }
    if (out[k] !== undefined) throw new UsageError(`--${flag}: ${k} given twice`);
    out[k] = v;
  }
  return out;
}

/** `--fields`: readMultipleChoice's field names; `endings=A+B+C` names one field per choice (SWAG). */
function choiceFields(raw: unknown): MultipleChoiceFields {
  if (raw === undefined) return {};
  if (typeof raw !== 'string') throw new UsageError('--fields takes context=NAME,endings=NAME[,label=NAME][,prefix=NAME]');
  const f = keyValues('fields', raw, ['context', 'endings', 'label', 'prefix']);
  const out: MultipleChoiceFields = {};
  if (f.context) out.context = f.context;
  if (f.endings?.includes('+')) out.endingFields = f.endings.split('+');
  else if (f.endings) out.endings = f.endings;
  if (f.label) out.label = f.label;
  if (f.prefix) out.prefix = f.prefix;
  return out;
}

/** Encoded items with their collate function and the evaluation that suits them. */
function taskData<T extends { length: number }>(file: string, items: T[], collate: (xs: T[]) => LabeledBatch, evaluate: (batches: LabeledBatch[], batchSize: number) => Evaluator): TaskData {
  if (items.length === 0) throw new AdvtrainError(`${file}: no examples`, 'ERR_DATA');
  return {
    trainData: (batchSize, seed) => new BatchLoader(items, collate, { batchSize, seed, bucket: true }),
    evaluator(batchSize) {
      const batches: LabeledBatch[] = [];
      for (let i = 0; i < items.length; i += batchSize) batches.push(collate(items.slice(i, i + batchSize)));
      return evaluate(batches, batchSize);
    },
  };
}

function textSpec(name: CliTask, modelTask: 'sequence-classification' | 'regression', labels: string[], read: (file: string) => Promise<TextExample[]>, scorer?: Scorer): TaskSpec {
  const kind = modelTask === 'regression' ? 'regression' : 'classification';
  return {
    name,
    modelTask,
    maxLength: DEFAULT_MAX_LENGTH,
    trainLabels: async () => labels,
    readTexts: read,
    async load(file, tokenizer, { maxLength }) {
      const items = encodeExamples(tokenizer, await read(file), maxLength);
      const padId = tokenizer.special.pad.id;
      return taskData(file, items, (xs) => collateTexts(xs, { padId, task: kind }), (batches) => (m) => evaluateModel(m, batches, { scorer }));
    },
  };
}

function conllSpec(): TaskSpec {
  return {
    name: 'conll',
    modelTask: 'token-classification',
    maxLength: DEFAULT_MAX_LENGTH,
    trainLabels: async (file) => buildTagList(await readConll(file)),
    async load(file, tokenizer, { maxLength, labels }) {
      const sentences = await readConll(file);
      const known = new Set(labels);
      sentences.forEach((s, i) => {
        const bad = s.tags.find((tag) => !known.has(tag));
        if (bad !== undefined) {
          throw new AdvtrainError(`${file}: sentence ${i + 1} has the tag ${JSON.stringify(bad)}, which is not among the model's labels (${labels.join(', ')})`, 'ERR_DATA');
        }
      });
      const items = encodeTagged(sentences, (words) => tokenizer.encodeWords(words, { maxLength }), labels, { maxLength });
      const padId = tokenizer.special.pad.id;
      return taskData(file, items, (xs) => collateTagged(xs, { padId }), (batches) => (m) => evaluateModel(m, batches));
    },
  };
}

function squadSpec(): TaskSpec {
  return {
    name: 'squad',
    modelTask: 'question-answering',
    maxLength: QA_DEFAULTS.maxLength,
    trainLabels: async () => [],
    async load(file, tokenizer, { maxLength, docStride }) {
      const examples = await readSquad(file);
      const features = prepareQaFeatures(tokenizer, examples, { maxLength, docStride });
      const padId = tokenizer.special.pad.id;
      return taskData(file, features, (xs) => collateQa(xs, { padId }), (_batches, batchSize) => (m) => {
        // Under a launcher each rank runs its share of the windows; every rank decodes all of them.
        const c = collectives();
        return evaluateQa(m, examples, features, { batchSize, ...(c ? { collectives: c } : {}) });
      });
    },
  };
}

function choiceSpec(fields: MultipleChoiceFields): TaskSpec {
  return {
    name: 'choice',
    modelTask: 'multiple-choice',
    maxLength: DEFAULT_MAX_LENGTH,
    trainLabels: async () => [],
    async load(file, tokenizer, { maxLength }) {
      const examples = await readMultipleChoice(file, fields);
      const items = encodeChoices(examples, (context, ending) => tokenizer.encode([context, ending ?? ''], { maxLength }), { maxLength });
      const padId = tokenizer.special.pad.id;
      return taskData(file, items, (xs) => collateChoices(xs, { padId }), (batches) => (m) => evaluateModel(m, batches));
    },
  };
}

/** Tokenises examples once (truncated to maxLength, longest_first for pairs). */
export function encodeExamples(tokenizer: Tokenizer, examples: TextExample[], maxLength: number): EncodedText[] {
  return encodeTexts(examples, (a, b) => tokenizer.encode(b === undefined ? a : [a, b], { maxLength }), { maxLength });
}

/** Seeded, length-bucketed, resumable training batches. */
export function trainLoader(items: EncodedText[], padId: number, task: 'sequence-classification' | 'regression', batchSize: number, seed: number): BatchLoader<EncodedText, LabeledBatch> {
  const kind = task === 'regression' ? 'regression' : 'classification';
  return new BatchLoader(items, (xs) => collateTexts(xs, { padId, task: kind }), { batchSize, seed, bucket: true });
}

/** Evaluation batches in file order (sorted by length within chunks would change nothing but speed). */
export function evalBatches(items: EncodedText[], padId: number, task: 'sequence-classification' | 'regression', batchSize: number): LabeledBatch[] {
  const kind = task === 'regression' ? 'regression' : 'classification';
  const out: LabeledBatch[] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(collateTexts(items.slice(i, i + batchSize), { padId, task: kind }));
  return out;
}

/**
 * --max-length, bounded by the model's position embeddings (a longer window would fail inside the
 * model, naming an internal field).
 */
export function maxLengthFlag(args: ParsedArgs, fallback: number, model: Model): number {
  const limit = maxSeqLen(model.config);
  const raw = args['max-length'];
  const n = raw === undefined ? Math.min(fallback, limit) : Number(raw);
  if (raw !== undefined && (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < 8 || n > limit)) {
    throw new UsageError(`--max-length takes an integer from 8 to ${limit} (the model's ${model.config.maxPositions} position embeddings), got '${String(raw)}'`);
  }
  return n;
}
