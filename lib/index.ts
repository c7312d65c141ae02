/**
 * advtrain: adversarial training of BERT-family encoders from Node.js.
 * @packageDocumentation
 */
export { AdvtrainError, type ErrorCode } from './errors.js';
export { info, type Info } from './info.js';
export * from './data/index.js';
export * from './metrics/index.js';
