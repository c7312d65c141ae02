// config.json fields advtrain refuses rather than mis-reads.
import t from 'tap';
import { parseConfig } from '../../lib/model/config.js';

const mlm = { model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: 50, hidden_size: 8, num_attention_heads: 2 };

t.test('an untied masked-LM decoder is refused by name (the decoder is always the word embeddings)', async (t) => {
  t.throws(() => parseConfig({ ...mlm, tie_word_embeddings: false }, 'x/config.json'), { code: 'ERR_CHECKPOINT', message: /x\/config.json: field 'tie_word_embeddings' must be true for masked-lm/ });
  t.equal(parseConfig({ ...mlm, tie_word_embeddings: true }, 'c').task, 'masked-lm');
  t.equal(parseConfig(mlm, 'c').task, 'masked-lm', 'absent means tied, as transformers');
  t.equal(parseConfig({ ...mlm, tie_word_embeddings: false }, 'c', { task: 'sequence-classification' }).task, 'sequence-classification', 'no decoder, nothing to tie');
});
