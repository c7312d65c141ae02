/**
 * SQuAD v1.1 (Rajpurkar et al., 2016, "SQuAD: 100,000+ Questions for Machine Comprehension of Text")
 * JSON files, flattened to one example per question.
 */
import { formatJsonPath, jsonPosition, parseJson, type JsonPath } from './json.js';
import { dataError, readText } from './source.js';

/** A gold answer: its text and where it starts in the context, as a JavaScript (UTF-16) index. */
export interface SquadAnswer {
  text: string;
  start: number;
}

/** One question with its paragraph. */
export interface SquadExample {
  id: string;
  title: string;
  question: string;
  context: string;
  answers: SquadAnswer[];
}

/** Listed in the mismatch error before it says "and N more". */
const MISMATCHES_SHOWN = 5;

const KINDS = { string: 'a string', array: 'an array', object: 'an object', offset: 'an integer >= 0' } as const;
type Kind = keyof typeof KINDS;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function matches(value: unknown, kind: Kind): boolean {
  if (kind === 'array') return Array.isArray(value);
  if (kind === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  if (kind === 'offset') return Number.isInteger(value) && (value as number) >= 0;
  return typeof value === 'string';
}

/**
 * Maps code point offsets (what Python, which wrote SQuAD, counts) to UTF-16 offsets; undefined when
 * the two agree, i.e. the text has no character outside the Basic Multilingual Plane.
 */
function utf16Offsets(s: string): number[] | undefined {
  if (!/[\uD800-\uDFFF]/.test(s)) return undefined;
  const map: number[] = [];
  for (let i = 0; i < s.length; i += s.codePointAt(i)! > 0xffff ? 2 : 1) map.push(i);
  map.push(s.length);
  return map;
}

/**
 * Parses SQuAD v1.1 JSON text already in memory; `file` names it in errors. Same as {@link readSquad}.
 *
 * @example
 * ```ts
 * const json = JSON.stringify({ data: [{ title: 't', paragraphs: [{ context: 'Paris is in France.',
 *   qas: [{ id: 'q1', question: 'Where is Paris?', answers: [{ text: 'France', answer_start: 12 }] }] }] }] });
 * parseSquad(json, 'mem.json')[0].answers; // [{ text: 'France', start: 12 }]
 * ```
 */
export function parseSquad(text: string, file: string): SquadExample[] {
  const root = parseJson(text, file);
  const fail = (path: JsonPath, message: string): never => {
    throw dataError(file, jsonPosition(text, path), `${formatJsonPath(path)}: ${message}`);
  };
  const get = <T>(parent: unknown, path: JsonPath, kind: Kind): T => {
    const key = path[path.length - 1]!;
    const value = (parent as Record<string | number, unknown>)[key];
    if (value === undefined && typeof key === 'string') fail(path.slice(0, -1), `missing field "${key}"`);
    if (!matches(value, kind)) fail(path, `expected ${KINDS[kind]} but found ${kindOf(value)}`);
    return value as T;
  };
  if (!matches(root, 'object')) fail([], `expected an object but found ${kindOf(root)}`);

  const out: SquadExample[] = [];
  const seen = new Set<string>();
  const mismatches: { id: string; path: JsonPath; message: string }[] = [];
  const articles = get<unknown[]>(root, ['data'], 'array');
  articles.forEach((article, a) => {
    get(articles, ['data', a], 'object');
    const title = (article as { title?: unknown }).title === undefined ? '' : get<string>(article, ['data', a, 'title'], 'string');
    const paragraphs = get<unknown[]>(article, ['data', a, 'paragraphs'], 'array');
    paragraphs.forEach((paragraph, p) => {
      const pp = ['data', a, 'paragraphs', p];
      get(paragraphs, pp, 'object');
      const context = get<string>(paragraph, [...pp, 'context'], 'string');
      const offsets = utf16Offsets(context);
      const qas = get<unknown[]>(paragraph, [...pp, 'qas'], 'array');
      qas.forEach((qa, q) => {
        const qp = [...pp, 'qas', q];
        get(qas, qp, 'object');
        const id = get<string>(qa, [...qp, 'id'], 'string');
        if (seen.has(id)) fail([...qp, 'id'], `duplicate question id "${id}"`);
        seen.add(id);
        const question = get<string>(qa, [...qp, 'question'], 'string');
        const answersIn = get<unknown[]>(qa, [...qp, 'answers'], 'array');
        const answers = answersIn.map((answer, i) => {
          const ap = [...qp, 'answers', i];
          get(answersIn, ap, 'object');
          const answerText = get<string>(answer, [...ap, 'text'], 'string');
          const cp = get<number>(answer, [...ap, 'answer_start'], 'offset');
          const start = offsets ? (offsets[cp] ?? context.length + cp) : cp;
          const found = context.slice(start, start + answerText.length);
          if (found !== answerText) {
            mismatches.push({
              id,
              path: [...ap, 'answer_start'],
              message: `answer ${JSON.stringify(answerText)} of question ${id} does not match the context at ${cp} (${JSON.stringify(found)})`,
            });
          }
          return { text: answerText, start };
        });
        out.push({ id, title, question, context, answers });
      });
    });
  });
  if (mismatches.length > 0) {
    const first = mismatches[0]!;
    const rest = mismatches.slice(1, MISMATCHES_SHOWN).map((m) => m.id);
    const more = mismatches.length > MISMATCHES_SHOWN ? ` and ${mismatches.length - MISMATCHES_SHOWN} more` : '';
    fail(first.path, `${first.message}${rest.length ? `; also questions ${rest.join(', ')}${more}` : ''}`);
  }
  return out;
}

/**
 * Reads a SQuAD v1.1 file: one example per question, with every answer checked against its context
 * (`context.slice(start, start + text.length) === text`). The file's `answer_start` counts code
 * points as Python does; `start` here is the JavaScript string index, the same unless the context
 * holds characters beyond U+FFFF. Structural errors and answer mismatches fail with `ERR_DATA` at
 * `file:line:col` with the JSON path, and mismatches name the question ids.
 *
 * @example
 * ```ts
 * const dev = await readSquad('squad/dev-v1.1.json'); // 10,570 questions
 * ```
 */
export async function readSquad(file: string): Promise<SquadExample[]> {
  return parseSquad(await readText(file), file);
}
