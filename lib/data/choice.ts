/**
 * Multiple-choice JSONL (SWAG, HellaSwag and the like): a context, a fixed number of candidate
 * endings, the index of the right one.
 */
import { invalidArg } from '../errors.js';
import * as v from '../validate.js';
import { jsonPosition } from './json.js';
import { dataError, readText, splitLines } from './source.js';
import { jsonlField, jsonlObject, jsonlString } from './table.js';

/** One multiple-choice question. */
export interface MultipleChoiceExample {
  context: string;
  choices: string[];
  /** Index of the right choice. */
  label?: number;
}

/** Which JSON fields hold what. */
export interface MultipleChoiceFields {
  /** The context field, or candidates of which the first present wins (default `['context', 'ctx']`). */
  context?: string | readonly string[];
  /** A field holding the choices as an array of strings (default `'endings'`, as HellaSwag). */
  endings?: string;
  /** Instead of `endings`: one field per choice (SWAG: `ending0` ... `ending3`). */
  endingFields?: readonly string[];
  /** A field put before each choice with a space (SWAG: `sent2`, the start of the second sentence). */
  prefix?: string;
  /** The label field (default `'label'`), or false for unlabelled files. */
  label?: string | false;
}

const KEYS = ['context', 'endings', 'endingFields', 'prefix', 'label'] as const;

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Fields after validation and defaults: exactly one of `endings`, `endingFields`. */
interface FieldSpec {
  context: string | readonly string[];
  endings?: string;
  endingFields?: readonly string[];
  prefix?: string;
  label: string | false;
}

function checkFields(fields: unknown): FieldSpec {
  const f = v.object('fields', fields);
  v.knownKeys('fields', f, KEYS);
  if (f.endings !== undefined && f.endingFields !== undefined) throw invalidArg('fields.endingFields', 'nothing when fields.endings is given', f.endingFields);
  const names = (name: string, value: unknown): readonly string[] => {
    if (!Array.isArray(value) || value.length === 0) throw invalidArg(name, 'a non-empty array of field names', value);
    return value.map((s, i) => v.string(`${name}[${i}]`, s));
  };
  const context = f.context === undefined ? ['context', 'ctx'] : typeof f.context === 'string' ? v.string('fields.context', f.context) : names('fields.context', f.context);
  const label = f.label === undefined ? 'label' : f.label === false ? false : v.string('fields.label', f.label);
  const out: FieldSpec = { context, label };
  if (f.endingFields !== undefined) out.endingFields = names('fields.endingFields', f.endingFields);
  else out.endings = f.endings === undefined ? 'endings' : v.string('fields.endings', f.endings);
  if (f.prefix !== undefined) out.prefix = v.string('fields.prefix', f.prefix);
  return out;
}

/**
 * Parses multiple-choice JSONL text already in memory; `file` names it in errors. Same as
 * {@link readMultipleChoice}.
 *
 * @example
 * ```ts
 * parseMultipleChoice('{"ctx": "He opens", "endings": ["the door", "a fish"], "label": 0}\n', 'mem.jsonl');
 * // [{ context: 'He opens', choices: ['the door', 'a fish'], label: 0 }]
 * ```
 */
export function parseMultipleChoice(text: string, file: string, fields: MultipleChoiceFields = {}): MultipleChoiceExample[] {
  const spec = checkFields(fields);
  const out: MultipleChoiceExample[] = [];
  let numChoices = 0;
  let firstLine = 0;
  for (const { text: line, line: n } of splitLines(text)) {
    const obj = jsonlObject(line, file, n);
    if (obj === undefined) continue;
    const context = jsonlString(obj, spec.context, line, file, n);
    const prefix = spec.prefix === undefined ? '' : jsonlString(obj, spec.prefix, line, file, n);
    let choices: string[];
    let where: () => ReturnType<typeof jsonPosition>;
    if (spec.endingFields) {
      choices = spec.endingFields.map((name) => jsonlString(obj, name, line, file, n));
      where = () => ({ line: n, column: line.search(/\S/) + 1 });
    } else {
      const { key, value } = jsonlField(obj, spec.endings!, line, file, n);
      where = () => jsonPosition(line, [key], n);
      if (!Array.isArray(value)) throw dataError(file, where(), `expected an array of strings for field "${key}" but found ${kindOf(value)}`);
      value.forEach((s, i) => {
        if (typeof s !== 'string') throw dataError(file, jsonPosition(line, [key, i], n), `expected a string for choice ${i} but found ${kindOf(s)}`);
      });
      choices = value as string[];
    }
    if (choices.length < 2) throw dataError(file, where(), `expected at least 2 choices but found ${choices.length}`);
    if (numChoices === 0) {
      numChoices = choices.length;
      firstLine = n;
    } else if (choices.length !== numChoices) {
      throw dataError(file, where(), `expected ${numChoices} choices (as on line ${firstLine}) but found ${choices.length}`);
    }
    const ex: MultipleChoiceExample = { context, choices: prefix === '' ? choices : choices.map((c) => (c === '' ? prefix : `${prefix} ${c}`)) };
    if (spec.label !== false) {
      const { key, value } = jsonlField(obj, spec.label, line, file, n);
      const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= numChoices) {
        throw dataError(file, jsonPosition(line, [key], n), `expected a choice index in [0, ${numChoices - 1}] for field "${key}" but found ${JSON.stringify(value)}`);
      }
      ex.label = id as number;
    }
    out.push(ex);
  }
  return out;
}

/**
 * Reads multiple-choice JSONL. Every example must have the same number of choices (at least 2); the
 * label is an index (a number or a numeric string). Bad lines fail with `ERR_DATA` at
 * `file:line:col`.
 *
 * @example
 * ```ts
 * const hellaswag = await readMultipleChoice('hellaswag_val.jsonl'); // ctx, endings, label
 * const swag = await readMultipleChoice('swag.jsonl', {
 *   context: 'sent1', prefix: 'sent2', endingFields: ['ending0', 'ending1', 'ending2', 'ending3'],
 * });
 * ```
 */
export async function readMultipleChoice(file: string, fields: MultipleChoiceFields = {}): Promise<MultipleChoiceExample[]> {
  checkFields(fields);
  return parseMultipleChoice(await readText(file), file, fields);
}
