/**
 * TextFooler's part-of-speech constraint (TextAttack's PartOfSpeech, after jind11/TextFooler): a word
 * may be replaced only by one tagged with the same universal part of speech in the same context (the
 * original text's words i-4..i+3), nouns and verbs interchangeable when `allowVerbNounSwap`.
 * TextAttack tags with NLTK's averaged perceptron mapped to the universal tagset; advtrain tags with
 * wink-nlp's English model (wink-eng-lite-web-model, Universal Dependencies tags), mapped to the same
 * 12 universal tags, since NLTK's tagger has no maintained JavaScript port.
 */
import { createRequire } from 'node:module';
import type winkNLP from 'wink-nlp';

/** Universal Dependencies tag to NLTK's universal tagset (Petrov et al., 2012), which TextAttack compares. */
const TO_UNIVERSAL: Record<string, string> = {
  ADJ: 'ADJ', ADP: 'ADP', ADV: 'ADV', AUX: 'VERB', CCONJ: 'CONJ', SCONJ: 'CONJ', DET: 'DET', INTJ: 'X',
  NOUN: 'NOUN', PROPN: 'NOUN', NUM: 'NUM', PART: 'PRT', PRON: 'PRON', PUNCT: '.', SYM: 'X', VERB: 'VERB', X: 'X', SPACE: 'X',
};

let nlp: ReturnType<typeof winkNLP> | undefined;

// Loaded on first use: the English model is 4 MB that importing advtrain should not pay for.
function tagger(): ReturnType<typeof winkNLP> {
  const require = createRequire(import.meta.url);
  nlp ??= (require('wink-nlp') as typeof winkNLP)(require('wink-eng-lite-web-model'), ['pos']);
  return nlp;
}

export class PartOfSpeechTagger {
  readonly #cache = new Map<string, string[]>();

  /** Universal tags of the words (one per word, joined by spaces and tagged as one sentence). */
  tag(words: readonly string[]): string[] {
    const key = words.join(' ');
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const wink = tagger();
    const doc = wink.readDoc(key);
    const tokens = doc.tokens().out() as string[];
    const tags = doc.tokens().out(wink.its.pos) as string[];
    // wink may split a word (e.g. "cannot" -> can not): each word takes the tag of its first token.
    const out: string[] = [];
    let t = 0;
    for (const w of words) {
      while (t < tokens.length && !w.startsWith(tokens[t]!) && !tokens[t]!.startsWith(w)) t++;
      out.push(TO_UNIVERSAL[tags[t] ?? 'X'] ?? 'X');
      let covered = tokens[t]?.length ?? 0;
      t++;
      while (t < tokens.length && covered < w.length && w.slice(covered).startsWith(tokens[t]!)) covered += tokens[t++]!.length;
    }
    if (this.#cache.size > 1 << 14) this.#cache.clear();
    this.#cache.set(key, out);
    return out;
  }

  /** The tag of `words[i]` in TextAttack's context window, words[i-4..i+3]. */
  tagInContext(words: readonly string[], i: number): string {
    const start = Math.max(i - 4, 0);
    return this.tag(words.slice(start, Math.min(i + 4, words.length)))[i - start]!;
  }
}

/** TextAttack's PartOfSpeech._can_replace_pos. */
export function canReplacePos(a: string, b: string, allowVerbNounSwap: boolean): boolean {
  return a === b || (allowVerbNounSwap && (a === 'NOUN' || a === 'VERB') && (b === 'NOUN' || b === 'VERB'));
}
