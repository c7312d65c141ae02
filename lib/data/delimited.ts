/**
 * Splitting delimited text into rows of cells that remember where they start, so that later checks
 * (column counts, labels) can name `file:line:col`.
 */
import { dataError, splitLines, type Position } from './source.js';

/** One cell with the position of its first character (the opening quote, for a quoted CSV cell). */
export interface Cell extends Position {
  value: string;
}

/** One record: its cells and the position just past its last character. */
export interface Row {
  cells: Cell[];
  end: Position;
}

/**
 * GLUE-style TSV: one record per line, cells split on tabs, no quoting at all (GLUE files hold
 * literal `"` characters that a CSV reader would take as quotes and so merge lines). CRLF endings are
 * accepted; empty lines are skipped.
 *
 * @example
 * ```ts
 * tsvRows('a\t"b\n')[0].cells.map((c) => c.value); // ['a', '"b']
 * ```
 */
export function tsvRows(text: string): Row[] {
  const rows: Row[] = [];
  for (const { text: line, line: n } of splitLines(text)) {
    if (line === '') continue;
    const cells: Cell[] = [];
    let start = 0;
    for (;;) {
      const tab = line.indexOf('\t', start);
      cells.push({ value: line.slice(start, tab === -1 ? undefined : tab), line: n, column: start + 1 });
      if (tab === -1) break;
      start = tab + 1;
    }
    rows.push({ cells, end: { line: n, column: line.length + 1 } });
  }
  return rows;
}

/**
 * RFC 4180 CSV: cells split on commas; a cell that starts with `"` is quoted and may hold commas,
 * newlines and `""` (one literal quote). Records end at `\n`, `\r\n` or `\r`; empty lines are
 * skipped. A `"` inside an unquoted cell is kept literally, as Python's csv module does; text after a
 * closing quote and an unterminated quote are errors.
 *
 * @example
 * ```ts
 * csvRows('a,"b,""c"""\r\n', 'x.csv')[0].cells.map((c) => c.value); // ['a', 'b,"c"']
 * ```
 */
export function csvRows(text: string, file: string): Row[] {
  const rows: Row[] = [];
  let cells: Cell[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const n = text.length;
  const at = (offset: number): Position => ({ line, column: offset - lineStart + 1 });

  while (i <= n) {
    const start = at(i);
    let value: string;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      let out = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) throw dataError(file, start, 'unterminated quoted field');
        const piece = text.slice(j, q);
        // Newlines inside the quotes still advance the line count for later positions.
        for (let k = piece.indexOf('\n'); k !== -1; k = piece.indexOf('\n', k + 1)) {
          line++;
          lineStart = j + k + 1;
        }
        out += piece;
        if (text[q + 1] === '"') {
          out += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      value = out;
      const c = text[i];
      if (c !== undefined && c !== ',' && c !== '\n' && c !== '\r') {
        throw dataError(file, at(i), `unexpected character '${c}' after the closing quote of a field`);
      }
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      value = text.slice(i, j);
      i = j;
    }
    cells.push({ value, line: start.line, column: start.column });

    if (text[i] === ',') {
      i++;
      continue;
    }
    // End of record: a newline or the end of the text.
    const end = at(i);
    if (cells.length > 1 || quoted || value !== '') rows.push({ cells, end });
    cells = [];
    if (i >= n) break;
    i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
    line++;
    lineStart = i;
  }
  return rows;
}
