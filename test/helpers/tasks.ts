/**
 * Tiny seeded data for the token-classification, question-answering and multiple-choice pipelines,
 * with a WordPiece vocabulary that covers every word (plus '##s', so plurals split in two).
 */
import type { MultipleChoiceExample } from '../../lib/data/choice.js';
import type { TaggedSentence } from '../../lib/data/conll.js';
import type { SquadExample } from '../../lib/data/squad.js';
import { rng } from './models.js';

const NOUNS = ['cat', 'dog', 'bird', 'fish', 'car', 'tree'];
const COLOURS = ['red', 'blue', 'green', 'black', 'white', 'pink'];
const PEOPLE = ['anna', 'bob', 'carl', 'dora'];
const PLACES = [['paris'], ['rome'], ['oslo'], ['new', 'york']];
const FILLERS = ['the', 'is', 'it', 'what', 'colour', 'i', 'met', 'saw', 'in', 'at', 'and', 'with', 'yesterday', '.', '?'];

/** vocab.txt lines: BERT's special tokens, then every word the generators use. */
export function taskVocab(): string[] {
  const words = new Set([...NOUNS, ...COLOURS, ...PEOPLE, ...PLACES.flat(), ...FILLERS, '##s']);
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...words].sort()];
}

function picker(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { r, pick, shuffle };
}

/** "the cat is red . the dog is blue . ..." and "what colour is the dog ?": the answer follows the asked noun. */
export function syntheticQa(n: number, seed: number): SquadExample[] {
  const { r, pick, shuffle } = picker(seed);
  return Array.from({ length: n }, (_, i) => {
    const nouns = shuffle(NOUNS).slice(0, 3 + Math.floor(r() * 4));
    const colours = nouns.map(() => pick(COLOURS));
    const context = nouns.map((noun, k) => `the ${noun} is ${colours[k]} .`).join(' ');
    const k = Math.floor(r() * nouns.length);
    const start = context.indexOf(`the ${nouns[k]} is `) + `the ${nouns[k]} is `.length;
    return { id: `q${i}`, title: 'colours', question: `what colour is the ${nouns[k]} ?`, context, answers: [{ text: colours[k]!, start }] };
  });
}

/** SQuAD v1.1 JSON of examples, one paragraph each. */
export function squadJson(examples: readonly SquadExample[]): string {
  const paragraphs = examples.map((e) => ({ context: e.context, qas: [{ id: e.id, question: e.question, answers: e.answers.map((a) => ({ text: a.text, answer_start: a.start })) }] }));
  return JSON.stringify({ version: '1.1', data: [{ title: 'colours', paragraphs }] });
}

/** "i met anna in new york yesterday": people and places tagged BIO; plurals ("cats") split into two pieces. */
export function syntheticNer(n: number, seed: number): TaggedSentence[] {
  const { r, pick } = picker(seed);
  return Array.from({ length: n }, () => {
    const s: TaggedSentence = { tokens: [], tags: [] };
    const add = (words: string[], type?: string) =>
      words.forEach((w, j) => {
        s.tokens.push(w);
        s.tags.push(type ? `${j === 0 ? 'B' : 'I'}-${type}` : 'O');
      });
    add(['i', pick(['met', 'saw'])]);
    add([pick(PEOPLE)], 'person');
    if (r() < 0.5) {
      add(['and']);
      add([pick(PEOPLE)], 'person');
    }
    add([pick(['in', 'at'])]);
    add(pick(PLACES), 'location');
    if (r() < 0.5) add(['with', `${pick(NOUNS)}s`]);
    if (r() < 0.5) add(['yesterday']);
    return s;
  });
}

/** CoNLL text: `word<TAB>tag` lines, a blank line after each sentence. */
export function conllText(sentences: readonly TaggedSentence[]): string {
  return sentences.map((s) => `${s.tokens.map((w, i) => `${w}\t${s.tags[i]}\n`).join('')}\n`).join('');
}

/** "the cat is red ." with three endings "it is <colour>"; the right one names the context's colour. */
export function syntheticChoice(n: number, seed: number): MultipleChoiceExample[] {
  const { pick, shuffle } = picker(seed);
  return Array.from({ length: n }, () => {
    const [right, ...wrong] = shuffle(COLOURS).slice(0, 3) as [string, string, string];
    const choices = shuffle([right, ...wrong]);
    return { context: `the ${pick(NOUNS)} is ${right} .`, choices: choices.map((c) => `it is ${c}`), label: choices.indexOf(right) };
  });
}
