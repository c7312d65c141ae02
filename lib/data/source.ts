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
 * which would otherwise become part of the first column name). A file that cannot be read, or is not
 * valid UTF-8, fails with `ERR_DATA` (the latter with `file:line:col` of the first bad byte).
 *
 * @example
 * ```ts
 * const text = await readText('data/sst2/dev.tsv');
 * ```
 */
export async function readText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new AdvtrainError(`${file}: cannot read: ${(err as Error).message}`, 'ERR_DATA', { cause: err });
  }
  const text = decodeUtf8(file, bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Decodes UTF-8, refusing invalid bytes (a silent U+FFFD would change the data) with their position. */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    const bad = firstInvalidUtf8(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, bad - 1) + 1;
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i !== -1 && i < bad; i = bytes.indexOf(0x0a, i + 1)) line++;
    const column = new TextDecoder('utf-8').decode(bytes.subarray(lineStart, bad)).length + 1;
    throw dataError(file, { line, column }, `invalid UTF-8 (byte 0x${bytes[bad]?.toString(16).padStart(2, '0') ?? '??'}); save the file as UTF-8`, err);
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length + (n ? 0 : 1)) return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
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
