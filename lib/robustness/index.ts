/**
 * Robustness evaluation (docs/robustness.md): loss increase in an epsilon-ball and robustness radii
 * (FreeLB), PGD accuracy under attack,
 * representation deviation (CreAT), black-box word-substitution attacks (TextAttack recipes), one
 * JSON report and SVG figures.
 */
export { evaluateRobustness, writeRobustnessReport, reportSchemaPath, ROBUSTNESS_ATTACKS, type RobustnessAttack, type RobustnessOptions, type RobustnessReport } from './report.js';
export {
  maxLossIncrease,
  radiusGrid,
  searchRadii,
  RADIUS_THRESHOLD,
  type LossIncreaseOptions,
  type LossIncreaseReport,
  type LossIncreaseAtRadius,
  type LossIncreaseDefinition,
  type RobustnessRadii,
} from './loss-increase.js';
export { pgdAttack, type EmbeddingAttackOptions, type EmbeddingAttackReport, type EmbeddingAttackResult, type PgdDefinition } from './embedding-attack.js';
export { representationDeviation, type DeviationOptions, type DeviationReport } from './deviation.js';
export { evalSet, type EvalSet } from './examples.js';
export {
  wordAttack,
  WORD_RECIPES,
  WORD_RECIPE_NAMES,
  type WordAttackOptions,
  type WordAttackReport,
  type WordAttackResult,
  type WordRecipe,
  type WordRecipeName,
  type SentenceSimilarity,
  type Substitution,
} from './word-attack.js';
export { ENGLISH_STOPWORDS, NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS } from './stopwords.js';
export { attackRates, quartiles, type AttackCounts, type AttackRates, type Quartiles } from './stats.js';
export { renderSvg, readMetricsLog, similarityLossSpec, lossIncreaseSpec, pgdSpec, deviationSpec, type LogStep, type LoggedRun } from './figures.js';
