/**
 * Where special tokens go around one or two sequences, read from tokenizer.json's `post_processor`.
 *
 * We read the config instead of calling the library's post-processors: those return token strings
 * only (we need positions to carry offsets and word ids through), and its RobertaProcessing gives the
 * second sequence type id 1 where tokenizers (Rust) gives every RoBERTa token type id 0.
 */
import { badFile } from './files.js';

export type TemplatePiece =
  | { kind: 'special'; tokens: string[]; ids: number[]; typeId: number }
  | { kind: 'sequence'; seq: 0 | 1; typeId: number };

export interface Template {
  single: TemplatePiece[];
  pair: TemplatePiece[];
}

/** Number of special tokens a template adds (HF `num_special_tokens_to_add`). */
export function specialCount(pieces: readonly TemplatePiece[]): number {
  let n = 0;
  for (const p of pieces) if (p.kind === 'special') n += p.ids.length;
  return n;
}

const seq = (s: 0 | 1, typeId: number): TemplatePiece => ({ kind: 'sequence', seq: s, typeId });
const special = (token: string, id: number, typeId: number): TemplatePiece => ({ kind: 'special', tokens: [token], ids: [id], typeId });

/** No post-processor: the sequences back to back, the second with type id 1 (tokenizers' default). */
const PLAIN: Template = { single: [seq(0, 0)], pair: [seq(0, 0), seq(1, 1)] };

/**
 * Reads a post_processor config (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel,
 * or a Sequence of those with at most one that adds special tokens).
 */
export function templateFromConfig(config: unknown, file: string, field = 'post_processor'): Template {
  if (config === null || config === undefined) return PLAIN;
  const c = record(config, file, field);
  switch (c.type) {
    case 'ByteLevel':
      return PLAIN;
    case 'BertProcessing': {
      const [cls, sep] = [tokenPair(c.cls, file, `${field}.cls`), tokenPair(c.sep, file, `${field}.sep`)];
      return {
        single: [special(...cls, 0), seq(0, 0), special(...sep, 0)],
        pair: [special(...cls, 0), seq(0, 0), special(...sep, 0), seq(1, 1), special(...sep, 1)],
      };
    }
    case 'RobertaProcessing': {
      const [cls, sep] = [tokenPair(c.cls, file, `${field}.cls`), tokenPair(c.sep, file, `${field}.sep`)];
      return {
        single: [special(...cls, 0), seq(0, 0), special(...sep, 0)],
        pair: [special(...cls, 0), seq(0, 0), special(...sep, 0), special(...sep, 0), seq(1, 0), special(...sep, 0)],
      };
    }
    case 'TemplateProcessing':
      return fromTemplateProcessing(c, file, field);
    case 'Sequence': {
      if (!Array.isArray(c.processors)) throw badFile(file, `${field}.processors`, 'an array', c.processors);
      const adding = c.processors
        .map((p, i) => templateFromConfig(p, file, `${field}.processors[${i}]`))
        .filter((t) => t !== PLAIN);
      if (adding.length > 1) throw badFile(file, `${field}.processors`, 'at most one processor that adds special tokens', c.processors);
      return adding[0] ?? PLAIN;
    }
    default:
      throw badFile(file, `${field}.type`, "'TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel' or 'Sequence'", c.type);
  }
}

function fromTemplateProcessing(c: Record<string, unknown>, file: string, field: string): Template {
  const specials = record(c.special_tokens, file, `${field}.special_tokens`);
  const pieces = (name: 'single' | 'pair'): TemplatePiece[] => {
    const items = c[name];
    if (!Array.isArray(items)) throw badFile(file, `${field}.${name}`, 'an array', items);
    return items.map((item: unknown, i): TemplatePiece => {
      const where = `${field}.${name}[${i}]`;
      const it = record(item, file, where);
      if (it.Sequence !== undefined) {
        const s = record(it.Sequence, file, `${where}.Sequence`);
        if (s.id !== 'A' && (s.id !== 'B' || name === 'single')) throw badFile(file, `${where}.Sequence.id`, name === 'single' ? "'A'" : "'A' or 'B'", s.id);
        return seq(s.id === 'A' ? 0 : 1, typeId(s.type_id, file, `${where}.Sequence.type_id`));
      }
      const s = record(it.SpecialToken, file, `${where}.SpecialToken`);
      const key = s.id;
      const entry = typeof key === 'string' ? specials[key] : undefined;
      if (entry === undefined) throw badFile(file, `${where}.SpecialToken.id`, `a key of ${field}.special_tokens`, key);
      const e = record(entry, file, `${field}.special_tokens.${String(key)}`);
      const ids = e.ids;
      const tokens = e.tokens;
      if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
        throw badFile(file, `${field}.special_tokens.${String(key)}.ids`, 'an array of token ids', ids);
      }
      if (!Array.isArray(tokens) || tokens.length !== ids.length || !tokens.every((x) => typeof x === 'string')) {
        throw badFile(file, `${field}.special_tokens.${String(key)}.tokens`, `an array of ${ids.length} strings`, tokens);
      }
      return { kind: 'special', tokens: tokens as string[], ids: ids as number[], typeId: typeId(s.type_id, file, `${where}.SpecialToken.type_id`) };
    });
  };
  return { single: pieces('single'), pair: pieces('pair') };
}

function record(value: unknown, file: string, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badFile(file, field, 'an object', value);
  return value as Record<string, unknown>;
}

function typeId(value: unknown, file: string, field: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw badFile(file, field, 'an integer >= 0', value);
  return value as number;
}

function tokenPair(value: unknown, file: string, field: string): [string, number] {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || !Number.isInteger(value[1])) {
    throw badFile(file, field, 'a [token, id] pair', value);
  }
  return [value[0], value[1] as number];
}
