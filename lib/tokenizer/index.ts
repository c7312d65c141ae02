/**
 * Tokenizers for BERT-family encoders: tokenizer.json or vocab.txt folders, encoding with special
 * tokens, HF truncation and padding into typed-array batches, offsets and word ids for BERT WordPiece
 * and byte-level BPE pipelines.
 */
export { loadTokenizer } from './load.js';
export {
  Tokenizer,
  type BatchOptions,
  type DecodeOptions,
  type EncodeOptions,
  type EncodeWordsOptions,
  type Encoding,
  type Padding,
  type SpecialToken,
  type SpecialTokenName,
  type TextInput,
  type TokenBatch,
  type Truncation,
  type WordsEncoding,
} from './tokenizer.js';
