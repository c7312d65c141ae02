import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { noTokenizerError } from '../../lib/cli/command.js';

t.test('a model without a usable tokenizer: the message tells missing files from unresolvable ones', async (t) => {
  const dir = t.testdir();
  t.match(noTokenizerError(dir).message, /has no tokenizer files \(tokenizer\.json or vocab\.txt\)$/);
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  const e = noTokenizerError(dir, '; pass --tokenizer DIR');
  t.match(e.message, /has tokenizer\.json but its special tokens could not be resolved .*ADVTRAIN_TOKENIZER_UNRESOLVED.*; pass --tokenizer DIR$/);
  t.equal(e.name, 'UsageError');
});
