/**
 * Shared plumbing for the readers: reading a file as text and reporting bad data as `file:line:col`.
 *
 * Lines and columns are 1-based; a column counts UTF-16 code units, as JavaScript string indices and
 * most editors do.
 */
import { readFile } from 'node:fs/promises';
import { AdvtrainError } from '../errors.js';

/** A 1-based position in a text file. */
export interface Position {
  line: number;
  column: number;
}

/**
 * The error every reader throws for bad data: code `ERR_DATA`, message `file:line:col: what`.
 *
 * @example
 * ```ts
 * throw dataError('rte/train.tsv', { line: 17, column: 3 }, 'expected 4 columns but found 2');
 * // AdvtrainError [ERR_DATA]: rte/train.tsv:17:3: expected 4 columns but found 2
 * ```
 */
export function dataError(file: string, at: Position, message: string, cause?: unknown): AdvtrainError {
  return new AdvtrainError(`${file}:${at.line}:${at.column}: ${message}`, 'ERR_DATA', cause === undefined ? undefined : { cause });
}

/**
 * The line and column of a string offset in `text`.
 *
 * @example
 * ```ts
 * positionAt('ab\ncd', 4); // { line: 2, column: 2 }
 * ```
 */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Reads a UTF-8 text file without its byte-order mark (Excel and some GLUE files start with one,
 * which would otherwise become part of the first column name). A file that cannot be read fails
 * with `ERR_DATA`.
 *
 * @example
 * ```ts
 * const text = await readText('data/sst2/dev.tsv');
 * ```
 */
export async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AdvtrainError(`${file}: cannot read: ${(err as Error).message}`, 'ERR_DATA', { cause: err });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Splits text into lines on `\n`, dropping a `\r` before it (CRLF files) and the empty piece after a
 * final newline. Each line keeps its 1-based number.
 *
 * @example
 * ```ts
 * splitLines('a\r\nb\n'); // [{ text: 'a', line: 1 }, { text: 'b', line: 2 }]
 * ```
 */
export function splitLines(text: string): { text: string; line: number }[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((s, i) => ({ text: s.endsWith('\r') ? s.slice(0, -1) : s, line: i + 1 }));
}
