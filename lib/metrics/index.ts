/**
 * Metrics: classification (accuracy, F1, Matthews), correlation (Pearson, Spearman), entity-level
 * NER scores (seqeval), SQuAD exact match and F1, and the GLUE set per task. Arguments are
 * (predictions, references); results are fractions in [0, 1] (correlations in [-1, 1]), and 0 where
 * a ratio would divide by zero.
 */
export { accuracy, f1, matthews, type F1Options } from './classification.js';
export { pearson, rank, spearman } from './correlation.js';
export { entityScores, getEntities, type Entity, type EntityScores, type TypeScores } from './seqeval.js';
export { normalizeAnswer, squadExactMatch, squadF1, squadScores, type SquadScores } from './squad.js';
export { glueScores } from './glue.js';
