/**
 * advtrain's tokenizers against transformers' fast tokenizers, row by row, on every row of the shared
 * dev sets: SST-2, RTE (pairs; no truncation, longest_first at 64 and at 128), WNUT-17 (pre-split
 * words), for bert-base-uncased (tokenizer.json, and vocab.txt alone), the byte-level BPE fixture
 * test/fixtures/roberta-bpe-wikitext2 and the SentencePiece-style Unigram fixtures
 * test/fixtures/{deberta-v3,albert}-unigram-wikitext2. Ids, type ids, offsets and word ids per row;
 * input ids, attention masks and type ids of padded batches of 32. The expectations come from
 * test/fixtures/tokenizer_parity.py, which this test runs (a few seconds) into a temporary folder.
 * Without Python (test/helpers/python.ts) or the shared data it skips, and fails under
 * ADVTRAIN_REQUIRE_PYTHON=1.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readConll, type TaggedSentence } from '../../lib/data/conll.js';
import { buildTagList } from '../../lib/data/conll.js';
import { collateTagged, encodeTagged } from '../../lib/data/batching.js';
import { loadTokenizer, type TextInput, type Tokenizer } from '../../lib/tokenizer/index.js';
import { readTsv, repoRoot, sharedPath } from '../helpers/data.js';
import { findPython, requirePython } from '../helpers/python.js';

const BATCH = 32;
/** tokenizer_parity.py's exit status when transformers cannot be imported. */
const NO_TRANSFORMERS = 3;
const script = join(repoRoot, 'test', 'fixtures', 'tokenizer_parity.py');
const roberta = join(repoRoot, 'test', 'fixtures', 'roberta-bpe-wikitext2');
const debertaUnigram = join(repoRoot, 'test', 'fixtures', 'deberta-v3-unigram-wikitext2');
const albertUnigram = join(repoRoot, 'test', 'fixtures', 'albert-unigram-wikitext2');
const data = {
  bert: sharedPath('bert-base-uncased-tokenizer'),
  sst2: sharedPath('sst2', 'dev.tsv'),
  rte: sharedPath('rte', 'dev.tsv'),
  wnut: sharedPath('wnut17', 'dev.conll'),
};
const python = findPython();
let skip: string | false = !python
  ? 'no Python with transformers (set ADVTRAIN_PYTHON, or make .venv with scripts/python-env.sh cpu)'
  : (Object.values(data).find((d) => d.skip)?.skip ?? false);

// The expectations, made before any test starts so that a Python without transformers can skip.
const out = mkdtempSync(join(tmpdir(), 'advtrain-tokenizer-hf-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const started = Date.now();
const run = skip ? undefined : spawnSync(python!, [script, out], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
const pythonSeconds = (Date.now() - started) / 1000;
if (run?.status === NO_TRANSFORMERS) skip = `${python} cannot import transformers`;
if (skip && requirePython()) throw new Error(`ADVTRAIN_REQUIRE_PYTHON=1 but ${skip}`);

interface HfRow {
  input: string | [string, string] | string[];
  maxLength: number | null;
  ids: number[];
  typeIds: number[];
  attentionMask: number[];
  /** Code-point offsets (Python string indices), into each text or each word. */
  offsets: Array<[number, number]>;
  wordIds: Array<number | null>;
}

interface HfBatch {
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

/** A UTF-16 offset pair into `text` as code points, to compare with Python's. */
function codePoints(text: string, [s, e]: [number, number]): [number, number] {
  return [[...text.slice(0, s)].length, [...text.slice(0, e)].length];
}

/** What advtrain gives for one row, in the fixture's terms. */
function encodeRow(tok: Tokenizer, input: HfRow['input'], maxLength: number | null, words: boolean) {
  const options = maxLength === null ? {} : { maxLength };
  if (words) {
    const list = input as string[];
    const e = tok.encodeWords(list, options);
    const offsets = e.offsets?.map((o, i) => (e.wordIds[i] === null ? o : codePoints(list[e.wordIds[i]!]!, o)));
    return { ids: e.ids, typeIds: e.typeIds, offsets, wordIds: e.wordIds, tokens: e.tokens };
  }
  const texts = typeof input === 'string' ? [input] : (input as [string, string]);
  const e = tok.encode(typeof input === 'string' ? input : (input as [string, string]), options);
  const offsets = e.offsets?.map((o, i) => (e.sequenceIds[i] === null ? o : codePoints(texts[e.sequenceIds[i]!]!, o)));
  return { ids: e.ids, typeIds: e.typeIds, offsets, wordIds: e.wordIds, tokens: e.tokens };
}

/** Compares every row; one assertion per kind, listing the rows that differ and showing the first. */
function compareRows(t: Test, tok: Tokenizer, rows: HfRow[], words: boolean): void {
  const differ: Record<'ids' | 'typeIds' | 'offsets' | 'wordIds', number[]> = { ids: [], typeIds: [], offsets: [], wordIds: [] };
  const keys = ['ids', 'typeIds', 'offsets', 'wordIds'] as const;
  let first: Record<string, unknown> | undefined;
  rows.forEach((want, i) => {
    const got = encodeRow(tok, want.input, want.maxLength, words);
    let bad = false;
    for (const key of keys) {
      if (JSON.stringify(got[key]) !== JSON.stringify(want[key])) {
        differ[key].push(i);
        bad = true;
      }
    }
    if (bad && !first) first = { row: i, got, want };
  });
  t.ok(
    rows.every((r) => r.attentionMask.length === r.ids.length && r.attentionMask.every((m) => m === 1)),
    'transformers masks every token of an unpadded row (padded masks are compared per batch)',
  );
  for (const key of keys) t.strictSame(differ[key], [], `rows whose ${key} differ`, { first });
}

/** Compares padded batches: encodeBatch for texts, encodeTagged + collateTagged (the training path) for words. */
function compareBatches(t: Test, tok: Tokenizer, rows: HfRow[], batches: HfBatch[], sentences?: TaggedSentence[]): void {
  t.equal(batches.length, Math.ceil(rows.length / BATCH), 'one fixture batch per 32 rows');
  const differ: number[] = [];
  let first: Record<string, unknown> | undefined;
  const tagList = sentences ? buildTagList(sentences) : [];
  batches.forEach((want, b) => {
    const chunk = rows.slice(b * BATCH, (b + 1) * BATCH);
    const maxLength = chunk[0]!.maxLength ?? undefined;
    const got = sentences
      ? collateTagged(encodeTagged(sentences.slice(b * BATCH, (b + 1) * BATCH), (w) => tok.encodeWords(w), tagList), { padId: tok.special.pad.id })
      : tok.encodeBatch(
          chunk.map((r) => r.input as TextInput),
          maxLength === undefined ? {} : { maxLength },
        );
    const mine = { inputIds: [...got.inputIds], attentionMask: [...got.attentionMask], tokenTypeIds: [...got.tokenTypeIds] };
    if (JSON.stringify(mine) !== JSON.stringify(want)) {
      differ.push(b);
      first ??= { batch: b, got: mine, want };
    }
  });
  t.strictSame(differ, [], 'padded batches whose input ids, attention masks or type ids differ', { first });
}

const SETS = [
  { name: 'sst2-dev', what: 'SST-2 dev sentences' },
  { name: 'rte-dev', what: 'RTE dev pairs' },
  { name: 'rte-dev-max64', what: 'RTE dev pairs, longest_first to 64' },
  { name: 'rte-dev-max128', what: 'RTE dev pairs, longest_first to 128' },
  { name: 'wnut17-dev', what: 'WNUT-17 dev sentences as pre-split words', words: true },
] as const;

t.test('advtrain equals transformers fast tokenizers on the dev sets', { skip }, async (t) => {
  if (run!.status !== 0) {
    t.fail(`${python} ${script} failed (status ${run!.status}${run!.signal ? `, ${run!.signal}` : ''})`, { stderr: run!.stderr, error: run!.error?.message });
    return;
  }
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { transformers: string; seconds: number };
  t.comment(`transformers ${meta.transformers}: expectations in ${pythonSeconds.toFixed(1)} s`);

  // advtrain's own readers give the same inputs the script encoded.
  const inputs: Record<string, unknown[]> = {
    'sst2-dev': readTsv(data.sst2.path, Infinity).map((r) => r.sentence!),
    'rte-dev': readTsv(data.rte.path, Infinity).map((r) => [r.sentence1!, r.sentence2!]),
  };
  inputs['rte-dev-max64'] = inputs['rte-dev-max128'] = inputs['rte-dev']!;
  const sentences = await readConll(data.wnut.path);
  inputs['wnut17-dev'] = sentences.map((s) => s.tokens);

  const vocabOnly = t.testdir();
  for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(data.bert.path, f), join(vocabOnly, f));
  const tokenizers = [
    { name: 'bert', dir: data.bert.path, source: 'tokenizer.json' },
    { name: 'bert-vocab', dir: vocabOnly, source: 'vocab.txt' },
    { name: 'roberta-bpe', dir: roberta, source: 'tokenizer.json' },
    { name: 'deberta-v3-unigram', dir: debertaUnigram, source: 'tokenizer.json' },
    { name: 'albert-unigram', dir: albertUnigram, source: 'tokenizer.json' },
  ] as const;

  for (const spec of tokenizers) {
    const tok = await loadTokenizer(spec.dir);
    t.equal(tok.source, spec.source, `${spec.name} loads from ${spec.source}`);
    const dir = join(out, spec.name);
    t.test(spec.name, async (t) => {
      for (const set of SETS) {
        const rows = readJsonl<HfRow>(join(dir, `${set.name}.jsonl`));
        const words = 'words' in set && set.words;
        t.test(`${set.what}: ${rows.length} rows`, async (t) => {
          t.strictSame(
            rows.map((r) => r.input),
            inputs[set.name],
            'the script read the same inputs as advtrain',
          );
          compareRows(t, tok, rows, words);
          compareBatches(t, tok, rows, readJsonl<HfBatch>(join(dir, `${set.name}.batches.jsonl`)), words ? sentences : undefined);
        });
      }
      t.test('edge cases', async (t) => compareRows(t, tok, readJsonl<HfRow>(join(dir, 'probes.jsonl')), false));
      t.test('pre-split edge cases', async (t) => compareRows(t, tok, readJsonl<HfRow>(join(dir, 'probe-words.jsonl')), true));
    });
  }
});
