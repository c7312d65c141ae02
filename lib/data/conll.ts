/**
 * CoNLL-style named-entity files (CoNLL-2003, WNUT-17): one `token<TAB>TAG` or space-separated
 * `token ... TAG` line per word (the first field is the token, the last the tag), a blank line between
 * sentences, `-DOCSTART-` lines skipped. Tags are BIO: `O`, `B-type`, `I-type`.
 */
import { dataError, readText, splitLines } from './source.js';

/** One sentence: words and their tags, of equal length. */
export interface TaggedSentence {
  tokens: string[];
  tags: string[];
}

const TAG = /^(O|[BI]-\S+)$/;

/**
 * Parses CoNLL text already in memory; `file` names it in errors.
 *
 * @example
 * ```ts
 * parseConll('EU\tB-ORG\nrejects\tO\n\nPeter\tB-PER\n', 'mem.conll');
 * // [{ tokens: ['EU', 'rejects'], tags: ['B-ORG', 'O'] }, { tokens: ['Peter'], tags: ['B-PER'] }]
 * ```
 */
export function parseConll(text: string, file: string): TaggedSentence[] {
  const out: TaggedSentence[] = [];
  let current: TaggedSentence = { tokens: [], tags: [] };
  const flush = (): void => {
    if (current.tokens.length > 0) out.push(current);
    current = { tokens: [], tags: [] };
  };
  for (const { text: raw, line } of splitLines(text)) {
    // Whitespace-only lines (WNUT-17 has lone tabs) end a sentence like empty ones.
    if (raw.trim() === '') {
      flush();
      continue;
    }
    if (raw.startsWith('-DOCSTART-')) {
      flush();
      continue;
    }
    const s = raw.trimEnd();
    const sep = s.includes('\t') ? '\t' : ' ';
    const first = s.indexOf(sep);
    const last = s.lastIndexOf(sep);
    if (first <= 0) {
      const why = first === 0 ? 'empty token' : `expected a token and a tag separated by a tab or a space but found ${JSON.stringify(s)}`;
      throw dataError(file, { line, column: 1 }, why);
    }
    const tag = s.slice(last + 1);
    if (!TAG.test(tag)) throw dataError(file, { line, column: last + 2 }, `invalid tag ${JSON.stringify(tag)} (expected O, B-type or I-type)`);
    current.tokens.push(s.slice(0, first));
    current.tags.push(tag);
  }
  flush();
  return out;
}

/**
 * Reads a CoNLL NER file into sentences. Bad lines fail with `ERR_DATA` at `file:line:col`.
 *
 * @example
 * ```ts
 * const train = await readConll('wnut17/train.conll'); // 3,394 sentences
 * const tagList = buildTagList(train);
 * ```
 */
export async function readConll(file: string): Promise<TaggedSentence[]> {
  return parseConll(await readText(file), file);
}

/**
 * The label list for token classification: `'O'` first, then `B-type`, `I-type` for each entity
 * type seen, types sorted by code unit. Both prefixes are listed for every type, so a tag that one
 * split lacks still has an id (this matches the Hugging Face `wnut_17` and `conll2003` label order
 * up to the type order).
 *
 * @example
 * ```ts
 * buildTagList([{ tokens: ['Paris', 'Hilton'], tags: ['B-person', 'I-person'] }, { tokens: ['NYC'], tags: ['B-location'] }]);
 * // ['O', 'B-location', 'I-location', 'B-person', 'I-person']
 * ```
 */
export function buildTagList(sentences: readonly TaggedSentence[]): string[] {
  const types = new Set<string>();
  for (const s of sentences) for (const tag of s.tags) if (tag !== 'O') types.add(tag.slice(2));
  return ['O', ...[...types].sort().flatMap((t) => [`B-${t}`, `I-${t}`])];
}
