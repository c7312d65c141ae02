/**
 * advtrain: adversarial training of BERT-family encoders from Node.js.
 * @packageDocumentation
 */
export { AdvtrainError, type ErrorCode } from './errors.js';
export { info, type Info } from './info.js';
export { resolveDevice, type DeviceName } from './device.js';
export type { Batch, LabeledBatch } from './model/batch.js';
export { MODEL_SIZES, parseConfig, configToJson, architectureOf, type ModelConfig, type ModelType, type ModelSize, type Task } from './model/config.js';
export { Model, loadModel, createModel, sizedConfig, type AttackOptions, type AttackResult, type ModelOptions, type LoadOptions, type LoadReport, type ForwardOptions, type ForwardOutput, type SaveOptions, type SlimmingCoefficients, type PruneSpec } from './model/model.js';
export { FAMILY_SETTINGS, FAMILY_NAMES, type FamilyName } from './model/families.js';
export { readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from './model/safetensors.js';
export { evaluateModel, type Scorer, type EvaluateOptions } from './train/evaluate.js';
export { Trainer, arraySource, checkpointRunSettings, type TrainData, type TrainerOptions, type StepResult, type TrainerState, type TrainerControl, type TrainerCallback, type BatchSource, type FitOptions, type FitResult, type Evaluator } from './train/trainer.js';
export { resolveMethod, presets, METHOD_NAMES, METHOD_DEFAULTS, type MethodConfig, type MethodName } from './train/methods.js';
export type { TrainingConfig, OptimizerOptions, SchedulerOptions } from './train/config.js';
export { findTicket, resolveTickets, TICKET_DEFAULTS, type TicketOptions, type TicketResult, type TicketPointLog, type FindTicketOptions } from './train/ticket-search.js';
export { ticketMasks, maskDistance, TicketSearch, searchPoints, prunedIndices, quantile, type TicketMasks, type PruneRatios } from './train/tickets.js';
export { ticketSpec } from './train/ticket-figure.js';
export { launchEnv, type LaunchEnv } from './distributed/env.js';
export { launch, LAUNCH_DEFAULTS, type LaunchOptions } from './distributed/launch.js';
export * from './tokenizer/index.js';
export * from './data/index.js';
export * from './metrics/index.js';
export * from './tasks/index.js';
export * from './robustness/index.js';
export { distributed, DISTRIBUTED_DEFAULTS, type DistributedOptions, type DistributedSetting } from './distributed/group.js';
export { allGatherJson, type Collectives } from './distributed/collectives.js';
