/**
 * Task pipelines that need more than reading, encoding and collating: extractive question answering
 * (windowed features, span decoding, SQuAD scores).
 */
export {
  collateQa,
  decodeQaSpans,
  evaluateQa,
  predictQa,
  prepareQaFeatures,
  QA_DEFAULTS,
  type QaBatch,
  type QaDecodeOptions,
  type QaFeature,
  type QaFeatureOptions,
  type QaLogits,
  type QaPredictOptions,
  type QaPrediction,
} from './qa.js';
