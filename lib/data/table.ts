/**
 * Text-classification tables (TSV, CSV, JSONL) mapped to `{ text, textPair?, label? }` examples.
 */
import { extname } from 'node:path';
import { invalidArg } from '../errors.js';
import * as v from '../validate.js';
import { csvRows, tsvRows, type Cell, type Row } from './delimited.js';
import { jsonPosition, parseJson } from './json.js';
import { dataError, readText, splitLines, type Position } from './source.js';

/** One text-classification or regression example. */
export interface TextExample {
  text: string;
  /** The second text of a pair task (NLI, paraphrase). */
  textPair?: string;
  /** A class id, or a score for regression. */
  label?: number;
}

/**
 * Names a column: a header name, a list of names of which the first present wins (files of the same
 * data set differ), or a 0-based index (files without a header). JSONL takes names only.
 */
export type ColumnRef = string | readonly string[] | number;

/** Which columns hold the example's fields. */
export interface TableColumns {
  text: ColumnRef;
  textPair?: ColumnRef;
  label?: ColumnRef;
}

/**
 * How label cells become numbers: a map from the cell's text to a class id, or `'float'` for
 * regression scores. Without one, labels must be non-negative integers.
 */
export type LabelMap = Readonly<Record<string, number>> | 'float';

/** Table formats. */
export type TableFormat = 'tsv' | 'csv' | 'jsonl';

export interface ReadTableOptions {
  /** Default: from the extension (`.tsv`, `.csv`, `.jsonl` or `.ndjson`). */
  format?: TableFormat;
  columns: TableColumns;
  /** Whether the first TSV/CSV row names the columns (default true); ignored for JSONL. */
  header?: boolean;
  labelMap?: LabelMap;
}

const FORMATS = ['tsv', 'csv', 'jsonl'] as const;
const EXTENSIONS: Readonly<Record<string, TableFormat>> = { '.tsv': 'tsv', '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };
const FIELDS = ['text', 'textPair', 'label'] as const;
type Field = (typeof FIELDS)[number];

const FLOAT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const INTEGER = /^\d+$/;

function quoteList(names: readonly string[]): string {
  return names.map((s) => JSON.stringify(s)).join(', ');
}

/**
 * Turns a raw label (a cell's text, or a JSON value) into a number under `labelMap`; `where` gives
 * the position for the error, computed only when needed.
 *
 * @example
 * ```ts
 * parseLabel('entailment', { entailment: 0, not_entailment: 1 }, 'rte.tsv', () => ({ line: 2, column: 40 })); // 0
 * ```
 */
export function parseLabel(raw: unknown, labelMap: LabelMap | undefined, file: string, where: () => Position): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    if (labelMap === 'float') return raw;
    if (labelMap === undefined && Number.isInteger(raw) && raw >= 0) return raw;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw dataError(file, where(), `expected a label but found ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const s = String(raw);
  if (labelMap === 'float') {
    if (FLOAT.test(s)) return Number(s);
    throw dataError(file, where(), `expected a number for the score but found ${JSON.stringify(s)}`);
  }
  if (labelMap === undefined) {
    if (INTEGER.test(s)) return Number(s);
    throw dataError(file, where(), `expected a non-negative integer label but found ${JSON.stringify(s)} (give labelMap for named labels)`);
  }
  if (Object.hasOwn(labelMap, s)) return labelMap[s]!;
  throw dataError(file, where(), `unknown label ${JSON.stringify(s)} (known: ${quoteList(Object.keys(labelMap))})`);
}

function checkColumnRef(name: string, ref: unknown): ColumnRef {
  if (typeof ref === 'number') return v.integer(name, ref, { min: 0 });
  if (typeof ref === 'string' && ref !== '') return ref;
  if (Array.isArray(ref) && ref.length > 0 && ref.every((s) => typeof s === 'string' && s !== '')) return ref as string[];
  throw invalidArg(name, 'a column name, a non-empty array of names or an index >= 0', ref);
}

function checkLabelMap(value: unknown): LabelMap | undefined {
  if (value === undefined || value === 'float') return value;
  const map = v.object('options.labelMap', value);
  for (const [k, id] of Object.entries(map)) v.integer(`options.labelMap[${JSON.stringify(k)}]`, id, { min: 0 });
  return map as Record<string, number>;
}

/** Options after validation, with the format decided. */
interface TableSpec {
  format: TableFormat;
  columns: Partial<Record<Field, ColumnRef>>;
  header: boolean;
  labelMap: LabelMap | undefined;
}

function checkOptions(file: string, options: unknown): TableSpec {
  const o = v.object('options', options);
  v.knownKeys('options', o, ['format', 'columns', 'header', 'labelMap']);
  let format: TableFormat;
  if (o.format !== undefined) format = v.oneOf('options.format', o.format, FORMATS);
  else {
    const guess = EXTENSIONS[extname(file).toLowerCase()];
    if (guess === undefined) throw invalidArg('options.format', `one of ${FORMATS.map((f) => `'${f}'`).join(', ')} (the extension of ${file} names none)`, o.format);
    format = guess;
  }
  const c = v.object('options.columns', o.columns);
  v.knownKeys('options.columns', c, FIELDS);
  const columns: Partial<Record<Field, ColumnRef>> = { text: checkColumnRef('options.columns.text', c.text) };
  for (const f of ['textPair', 'label'] as const) if (c[f] !== undefined) columns[f] = checkColumnRef(`options.columns.${f}`, c[f]);
  const header = o.header === undefined ? true : v.boolean('options.header', o.header);
  for (const f of FIELDS) {
    const ref = columns[f];
    if (ref === undefined) continue;
    if (typeof ref === 'number' && (format === 'jsonl' || header)) {
      throw invalidArg(`options.columns.${f}`, format === 'jsonl' ? 'a field name (JSONL has no column order)' : 'a column name (the file has a header)', ref);
    }
    if (typeof ref !== 'number' && format !== 'jsonl' && !header) {
      throw invalidArg(`options.columns.${f}`, 'a column index (the file has no header)', ref);
    }
  }
  return { format, columns, header, labelMap: checkLabelMap(o.labelMap) };
}

function names(ref: string | readonly string[]): readonly string[] {
  return typeof ref === 'string' ? [ref] : ref;
}

/** Column indices for the mapped fields, from the header row or the given indices. */
function resolveColumns(spec: TableSpec, rows: Row[], file: string): { index: Partial<Record<Field, number>>; width: number } {
  const index: Partial<Record<Field, number>> = {};
  const first = rows[0]!;
  const width = first.cells.length;
  for (const f of FIELDS) {
    const ref = spec.columns[f];
    if (ref === undefined) continue;
    if (typeof ref === 'number') {
      if (ref >= width) throw dataError(file, first.end, `column index ${ref} for ${f} is out of range: the first row has ${width} columns`);
      index[f] = ref;
      continue;
    }
    const header = first.cells.map((c) => c.value);
    const found = names(ref).map((n) => header.indexOf(n)).find((i) => i !== -1);
    if (found === undefined) {
      throw dataError(file, first.cells[0]!, `missing column ${names(ref).map((n) => JSON.stringify(n)).join(' or ')} in header (found ${quoteList(header)})`);
    }
    index[f] = found;
  }
  return { index, width };
}

/** Checks a row's width: too few cells point just past the row, too many at the first extra cell. */
function checkWidth(row: Row, width: number, file: string): void {
  const n = row.cells.length;
  if (n === width) return;
  throw dataError(file, n < width ? row.end : row.cells[width]!, `expected ${width} columns but found ${n}`);
}

function tableExamples(spec: TableSpec, rows: Row[], file: string): TextExample[] {
  if (rows.length === 0) return [];
  const { index, width } = resolveColumns(spec, rows, file);
  const out: TextExample[] = [];
  for (let r = spec.header ? 1 : 0; r < rows.length; r++) {
    const row = rows[r]!;
    checkWidth(row, width, file);
    const cell = (f: Field): Cell => row.cells[index[f]!]!;
    const ex: TextExample = { text: cell('text').value };
    if (index.textPair !== undefined) ex.textPair = cell('textPair').value;
    if (index.label !== undefined) {
      const c = cell('label');
      ex.label = parseLabel(c.value, spec.labelMap, file, () => c);
    }
    out.push(ex);
  }
  return out;
}

function firstPresent(obj: Record<string, unknown>, ref: string | readonly string[]): string | undefined {
  return names(ref).find((k) => Object.hasOwn(obj, k));
}

/**
 * Parses one JSONL line that must hold an object; blank lines give `undefined`.
 *
 * @example
 * ```ts
 * jsonlObject('{"a": 1}', 'x.jsonl', 3); // { a: 1 }
 * ```
 */
export function jsonlObject(line: string, file: string, lineNumber: number): Record<string, unknown> | undefined {
  if (line.trim() === '') return undefined;
  const value = parseJson(line, file, lineNumber);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw dataError(file, { line: lineNumber, column: line.search(/\S/) + 1 }, `expected a JSON object but found ${found}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The field of a JSONL object named by `ref` (the first present); a missing field fails with
 * `ERR_DATA` at the object's start.
 *
 * @example
 * ```ts
 * jsonlField({ ctx: 'A man' }, ['context', 'ctx'], '{"ctx": "A man"}', 'x.jsonl', 1); // { key: 'ctx', value: 'A man' }
 * ```
 */
export function jsonlField(
  obj: Record<string, unknown>,
  ref: string | readonly string[],
  line: string,
  file: string,
  lineNumber: number,
): { key: string; value: unknown } {
  const key = firstPresent(obj, ref);
  if (key === undefined) {
    throw dataError(file, { line: lineNumber, column: line.search(/\S/) + 1 }, `missing field ${names(ref).map((n) => JSON.stringify(n)).join(' or ')}`);
  }
  return { key, value: obj[key] };
}

/**
 * A string-valued JSONL field; anything else fails with `ERR_DATA` at the value's position.
 *
 * @example
 * ```ts
 * jsonlString({ text: 5 }, 'text', '{"text": 5}', 'x.jsonl', 2); // throws x.jsonl:2:10: expected a string for field "text" but found number
 * ```
 */
export function jsonlString(obj: Record<string, unknown>, ref: string | readonly string[], line: string, file: string, lineNumber: number): string {
  const { key, value } = jsonlField(obj, ref, line, file, lineNumber);
  if (typeof value === 'string') return value;
  const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw dataError(file, jsonPosition(line, [key], lineNumber), `expected a string for field ${JSON.stringify(key)} but found ${found}`);
}

function jsonlExamples(spec: TableSpec, text: string, file: string): TextExample[] {
  const out: TextExample[] = [];
  for (const { text: line, line: n } of splitLines(text)) {
    const obj = jsonlObject(line, file, n);
    if (obj === undefined) continue;
    const ref = (f: Field): string | readonly string[] => spec.columns[f] as string | readonly string[];
    const ex: TextExample = { text: jsonlString(obj, ref('text'), line, file, n) };
    if (spec.columns.textPair !== undefined) ex.textPair = jsonlString(obj, ref('textPair'), line, file, n);
    if (spec.columns.label !== undefined) {
      const { key, value } = jsonlField(obj, ref('label'), line, file, n);
      ex.label = parseLabel(value, spec.labelMap, file, () => jsonPosition(line, [key], n));
    }
    out.push(ex);
  }
  return out;
}

/**
 * Parses table text already in memory; `file` names it in errors. Same options as {@link readTable}.
 *
 * @example
 * ```ts
 * parseTable('sentence\tlabel\ngood\t1\n', 'mem.tsv', { columns: { text: 'sentence', label: 'label' } });
 * // [{ text: 'good', label: 1 }]
 * ```
 */
export function parseTable(text: string, file: string, options: ReadTableOptions): TextExample[] {
  return parseWith(checkOptions(file, options), text, file);
}

function parseWith(spec: TableSpec, text: string, file: string): TextExample[] {
  if (spec.format === 'jsonl') return jsonlExamples(spec, text, file);
  return tableExamples(spec, spec.format === 'tsv' ? tsvRows(text) : csvRows(text, file), file);
}

/**
 * Reads a TSV, CSV or JSONL file of text examples. TSV is GLUE-style (tabs, no quoting); CSV follows
 * RFC 4180 (quotes, `""`, embedded newlines, CRLF); JSONL is one object per line, blank lines skipped.
 * Every row must have as many cells as the header (or the first row). Bad data fails with
 * `ERR_DATA` naming `file:line:col`; bad options with `ERR_INVALID_ARG`.
 *
 * @example
 * ```ts
 * const rte = await readTable('rte/dev.tsv', {
 *   columns: { text: 'sentence1', textPair: 'sentence2', label: 'label' },
 *   labelMap: { entailment: 0, not_entailment: 1, '0': 0, '1': 1 },
 * });
 * const scores = await readTable('stsb.jsonl', { columns: { text: 's1', textPair: 's2', label: 'score' }, labelMap: 'float' });
 * ```
 */
export async function readTable(file: string, options: ReadTableOptions): Promise<TextExample[]> {
  const spec = checkOptions(file, options);
  return parseWith(spec, await readText(file), file);
}
