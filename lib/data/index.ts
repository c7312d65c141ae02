/**
 * Data: readers for classification tables, GLUE, AdvGLUE, CoNLL NER, SQuAD and multiple choice; batching.
 * Bad files fail with `AdvtrainError` code `ERR_DATA` and a `file:line:col` message.
 */
export { dataError, type Position } from './source.js';
export {
  parseTable,
  readTable,
  type ColumnRef,
  type LabelMap,
  type ReadTableOptions,
  type TableColumns,
  type TableFormat,
  type TextExample,
} from './table.js';
export { GLUE_TASKS, parseGlue, readGlue, type GlueMetric, type GluePreset, type GlueTask, type ReadGlueOptions } from './glue.js';
export { ADVGLUE_TASKS, parseAdvGlue, readAdvGlue, type AdvGlueExample, type AdvGlueSet, type AdvGlueTask } from './advglue.js';
export { buildTagList, parseConll, readConll, type TaggedSentence } from './conll.js';
export { parseSquad, readSquad, type SquadAnswer, type SquadExample } from './squad.js';
export { parseMultipleChoice, readMultipleChoice, type MultipleChoiceExample, type MultipleChoiceFields } from './choice.js';
export { Random } from './random.js';
export {
  alignTokenLabels,
  BatchLoader,
  batchOrder,
  collateChoices,
  collateTagged,
  collateTexts,
  DEFAULT_MAX_LENGTH,
  encodeChoices,
  encodeTagged,
  encodeTexts,
  IGNORE_INDEX,
  truncateEncoding,
  type BatchOrderOptions,
  type BatchPosition,
  type CollateTextOptions,
  type EncodedChoices,
  type EncodedText,
  type EncodedTokens,
  type EncodeFn,
  type EncodeTextsOptions,
  type EncodeWordsFn,
  type TokenIds,
  type LoaderStep,
  type MultipleChoiceBatch,
  type SequenceBatch,
  type DataShard,
  type TokenClassificationBatch,
} from './batching.js';
export { maskTokens, MaskedLmBatches, type MaskingOptions, type MaskedBatch, type MaskedLmBatchesOptions } from './masking.js';
export { CorpusBatches, corpusTokenizer, packSequences, readDocuments, type CorpusBatchesOptions, type CorpusFormat, type CorpusTokenizer } from './corpus.js';
