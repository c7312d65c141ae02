export { maxLossIncrease, pgdAttack, representationDeviation, attackCounts, type AttackCounts, type Deviation, type LossIncrease, type LossIncreaseOptions, type PgdOptions, type PgdResult } from './embedding.js';
export { wordAttack, type AdversarialExample, type WordAttackOptions, type WordAttackResult } from './word-attack.js';
export { evaluateRobustness, ATTACKS, type AttackName, type RobustnessOptions, type RobustnessReport } from './report.js';
export { lossIncreaseFigure, deviationFigure, similarityFigure } from './figures.js';
export { STOP_WORDS } from './stopwords.js';
