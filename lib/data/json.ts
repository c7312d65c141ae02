/**
 * JSON with positions. `JSON.parse` does the parsing; when it fails, or when a valid document has a
 * bad value, a small scanner finds where: V8's messages carry no position for some errors ("Unexpected
 * token") and none at all for values, and a SQuAD file is one long line.
 */
import { dataError, positionAt, type Position } from './source.js';

/** A path into a JSON value: object keys and array indices. */
export type JsonPath = readonly (string | number)[];

class JsonSyntaxError {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

const ESCAPES = '"\\/bfnrt';

/** Validates JSON text by recursive descent, optionally noting where the value at `target` starts. */
class Scanner {
  private pos = 0;
  private readonly path: (string | number)[] = [];
  found = -1;

  constructor(
    private readonly text: string,
    private readonly target?: JsonPath,
  ) {}

  document(): void {
    this.value();
    this.ws();
    if (this.pos < this.text.length) this.fail('Unexpected non-whitespace character after JSON');
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.pos);
  }

  private unexpected(): never {
    if (this.pos >= this.text.length) this.fail('Unexpected end of JSON input');
    this.fail(`Unexpected token '${this.text[this.pos]}' in JSON`);
  }

  private ws(): void {
    const t = this.text;
    while (this.pos < t.length && (t[this.pos] === ' ' || t[this.pos] === '\t' || t[this.pos] === '\n' || t[this.pos] === '\r')) this.pos++;
  }

  private atTarget(): boolean {
    const target = this.target;
    return target !== undefined && this.found < 0 && target.length === this.path.length && target.every((k, i) => k === this.path[i]);
  }

  private value(): void {
    this.ws();
    if (this.atTarget()) this.found = this.pos;
    const c = this.text[this.pos];
    if (c === '{') this.object();
    else if (c === '[') this.array();
    else if (c === '"') this.string();
    else if (c === 't') this.literal('true');
    else if (c === 'f') this.literal('false');
    else if (c === 'n') this.literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else this.unexpected();
  }

  private expect(c: string): void {
    this.ws();
    if (this.text[this.pos] !== c) this.unexpected();
    this.pos++;
  }

  private object(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.unexpected();
      const start = this.pos;
      this.string();
      this.path.push(JSON.parse(this.text.slice(start, this.pos)) as string);
      this.expect(':');
      this.value();
      this.path.pop();
      this.ws();
      const c = this.text[this.pos];
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.unexpected();
      this.pos++;
    }
  }

  private array(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.path.push(i);
      this.value();
      this.path.pop();
      this.ws();
      const c = this.text[this.pos];
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.unexpected();
      this.pos++;
    }
  }

  private string(): void {
    const t = this.text;
    this.pos++;
    for (;;) {
      if (this.pos >= t.length) this.fail('Unterminated string in JSON');
      const code = t.charCodeAt(this.pos);
      if (code === 0x22) {
        this.pos++;
        return;
      }
      if (code < 0x20) this.fail('Bad control character in string literal in JSON');
      if (code === 0x5c) {
        this.pos++;
        const e = t[this.pos];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(this.pos + 1, this.pos + 5))) this.fail('Bad Unicode escape in JSON');
          this.pos += 4;
        } else if (e === undefined || !ESCAPES.includes(e)) {
          this.fail('Bad escaped character in JSON');
        }
      }
      this.pos++;
    }
  }

  private digits(): void {
    const start = this.pos;
    while (this.pos < this.text.length && this.text[this.pos]! >= '0' && this.text[this.pos]! <= '9') this.pos++;
    if (this.pos === start) this.unexpected();
  }

  private number(): void {
    if (this.text[this.pos] === '-') this.pos++;
    if (this.text[this.pos] === '0') this.pos++;
    else this.digits();
    if (this.text[this.pos] === '.') {
      this.pos++;
      this.digits();
    }
    if (this.text[this.pos] === 'e' || this.text[this.pos] === 'E') {
      this.pos++;
      if (this.text[this.pos] === '+' || this.text[this.pos] === '-') this.pos++;
      this.digits();
    }
  }

  private literal(word: string): void {
    for (const ch of word) {
      if (this.text[this.pos] !== ch) this.unexpected();
      this.pos++;
    }
  }
}

function shift(p: Position, firstLine: number): Position {
  return { line: p.line + firstLine - 1, column: p.column };
}

/**
 * Parses JSON text taken from `file` (starting at line `firstLine`, for one line of a JSONL file);
 * bad JSON fails with `ERR_DATA` at its exact `file:line:col`, with the same message on every Node
 * version.
 *
 * @example
 * ```ts
 * parseJson('{"a": tru}', 'x.jsonl', 5);
 * // AdvtrainError [ERR_DATA]: x.jsonl:5:10: Unexpected token '}' in JSON
 * ```
 */
export function parseJson(text: string, file: string, firstLine = 1): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    try {
      new Scanner(text).document();
    } catch (syntax) {
      if (syntax instanceof JsonSyntaxError) {
        throw dataError(file, shift(positionAt(text, syntax.offset), firstLine), syntax.message, err);
      }
      throw syntax;
    }
    // The scanner accepts exactly JSON's grammar, so this is only reached if the two ever disagree.
    throw dataError(file, { line: firstLine, column: 1 }, (err as Error).message, err);
  }
}

/**
 * Where the value at `path` starts in valid JSON `text` (the start of the text if absent), to point
 * an error about a value at its place in the file.
 *
 * @example
 * ```ts
 * jsonPosition('{"a": [1, 2]}', ['a', 1]); // { line: 1, column: 11 }
 * ```
 */
export function jsonPosition(text: string, path: JsonPath, firstLine = 1): Position {
  const scanner = new Scanner(text, path);
  scanner.document();
  return shift(positionAt(text, Math.max(scanner.found, 0)), firstLine);
}

/**
 * Renders a JSON path for messages, e.g. `data[0].paragraphs[3].qas[1].id`.
 *
 * @example
 * ```ts
 * formatJsonPath(['data', 0, 'title']); // 'data[0].title'
 * ```
 */
export function formatJsonPath(path: JsonPath): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? k : `.${k}`;
  return out || '(root)';
}
