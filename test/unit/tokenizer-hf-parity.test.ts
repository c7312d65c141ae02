/**
 * advtrain's encodings against Hugging Face tokenizers (Rust), row by row. The fixtures come from
 * test/fixtures/tokenizer_parity.py, run on a machine that has transformers; without them this skips.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadTokenizer, type Encoding, type TextInput, type Tokenizer } from '../../lib/tokenizer/index.js';
import { readTsv, repoRoot, sharedPath } from '../helpers/data.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'tokenizer-hf');
const bert = sharedPath('bert-base-uncased-tokenizer');
const sst2 = sharedPath('sst2', 'train.tsv');
const rte = sharedPath('rte', 'train.tsv');
const NOT_GENERATED = 'HF tokenizer fixtures not generated (run test/fixtures/tokenizer_parity.py on a machine with transformers)';
const skip =
  !existsSync(join(fixtures, 'sst2.jsonl')) || !existsSync(join(fixtures, 'rte.jsonl')) ? NOT_GENERATED : bert.skip || sst2.skip || rte.skip;

interface HfRow {
  ids: number[];
  typeIds: number[];
  /** Code-point offsets (Python string indices). */
  offsets: Array<[number, number]>;
  wordIds: Array<number | null>;
  text?: string | [string, string];
  maxLength?: number | null;
}

function readJsonl(name: string): HfRow[] {
  return readFileSync(join(fixtures, name), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as HfRow);
}

/** advtrain's UTF-16 offsets as code-point offsets, to compare with Python's. */
function codePointOffsets(e: Encoding, input: TextInput): Array<[number, number]> {
  const texts = typeof input === 'string' ? [input] : input;
  const cp = (text: string, unit: number): number => [...text.slice(0, unit)].length;
  return e.offsets!.map(([s, end], i) => {
    const seq = e.sequenceIds[i];
    return seq === null ? [s, end] : [cp(texts[seq]!, s), cp(texts[seq]!, end)];
  });
}

/** Compares every row; reports how many differ and shows the first. */
function compare(t: Test, tok: Tokenizer, inputs: TextInput[], rows: HfRow[], maxLength?: (i: number) => number | undefined): void {
  t.equal(rows.length, inputs.length, 'one fixture row per input');
  const differ: Record<'ids' | 'offsets', number[]> = { ids: [], offsets: [] };
  let first: Record<string, unknown> | undefined;
  inputs.forEach((input, i) => {
    const want = rows[i]!;
    const ml = maxLength?.(i);
    const e = tok.encode(input, ml === undefined ? {} : { maxLength: ml });
    const got = { ids: e.ids, typeIds: e.typeIds, offsets: codePointOffsets(e, input), wordIds: e.wordIds };
    const idsDiffer = JSON.stringify([got.ids, got.typeIds]) !== JSON.stringify([want.ids, want.typeIds]);
    const offsetsDiffer = JSON.stringify([got.offsets, got.wordIds]) !== JSON.stringify([want.offsets, want.wordIds]);
    if (idsDiffer) differ.ids.push(i);
    if (offsetsDiffer) differ.offsets.push(i);
    if ((idsDiffer || offsetsDiffer) && !first) first = { row: i, input, tokens: e.tokens, got, want: { ...want, text: undefined } };
  });
  t.strictSame(differ.ids, [], 'rows whose ids or type ids differ', { first });
  t.strictSame(differ.offsets, [], 'rows whose offsets or word ids differ', { first });
}

t.test('advtrain matches Hugging Face tokenizers on bert-base-uncased', { skip }, async (t) => {
  // Both sources: the folder's tokenizer.json, and its vocab.txt + tokenizer_config.json alone.
  const vocabOnly = t.testdir();
  for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(bert.path, f), join(vocabOnly, f));
  const singles = readTsv(sst2.path, 1000).map((r) => r.sentence!);
  const pairs = readTsv(rte.path, 1000).map((r): [string, string] => [r.sentence1!, r.sentence2!]);
  const truncated = existsSync(join(fixtures, 'rte-max64.jsonl'));
  const probes = existsSync(join(fixtures, 'probes.jsonl'));

  for (const dir of [bert.path, vocabOnly]) {
    const tok = await loadTokenizer(dir);
    t.test(`from ${tok.source}`, async (t) => {
      t.test('SST-2, first 1,000 train sentences', async (t) => compare(t, tok, singles, readJsonl('sst2.jsonl')));
      t.test('RTE, first 1,000 train pairs', async (t) => compare(t, tok, pairs, readJsonl('rte.jsonl')));
      t.test('RTE pairs, longest_first to 64 tokens', { skip: truncated ? false : 'no rte-max64.jsonl' }, async (t) =>
        compare(t, tok, pairs, readJsonl('rte-max64.jsonl'), () => 64),
      );
      t.test('edge cases', { skip: probes ? false : 'no probes.jsonl' }, async (t) => {
        const rows = readJsonl('probes.jsonl');
        const inputs = rows.map((r): TextInput => (typeof r.text === 'string' ? r.text : [r.text![0], r.text![1]]));
        compare(t, tok, inputs, rows, (i) => rows[i]!.maxLength ?? undefined);
      });
    });
  }
});
