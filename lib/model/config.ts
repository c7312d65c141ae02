/**
 * Model configuration: reads a Hugging Face config.json (bert, roberta, electra, albert), validates it, and
 * writes it back in transformers' format. The native side receives the validated `ModelConfig`.
 */
import { AdvtrainError } from '../errors.js';

export type ModelType = 'bert' | 'roberta' | 'electra' | 'albert';

/** What the model's head does. */
export type Task =
  | 'base'
  | 'sequence-classification'
  | 'regression'
  | 'multiple-choice'
  | 'token-classification'
  | 'question-answering'
  | 'masked-lm';

export const TASKS: readonly Task[] = ['base', 'sequence-classification', 'regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];

/** Activations transformers names in `hidden_act` that advtrain implements. */
export const ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'relu', 'silu', 'swish', 'tanh', 'quick_gelu'] as const;

/** The validated configuration, in advtrain's names; `raw` keeps every field of the original file. */
export interface ModelConfig {
  modelType: ModelType;
  task: Task;
  vocabSize: number;
  hiddenSize: number;
  embeddingSize: number;
  numLayers: number;
  /** ALBERT: layer groups sharing parameters (num_hidden_groups); 1 for the other families. */
  numHiddenGroups: number;
  /** ALBERT: layers per group application (inner_group_num); 1 for the other families. */
  innerGroupNum: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  padTokenId: number;
  numLabels: number;
  hiddenAct: (typeof ACTIVATIONS)[number];
  hiddenDropout: number;
  attentionDropout: number;
  classifierDropout: number;
  layerNormEps: number;
  initializerRange: number;
  summaryActivation: (typeof ACTIVATIONS)[number];
  summaryLastDropout: number;
  /** Label names by id (classification and token classification). */
  id2label: string[];
  raw: Record<string, unknown>;
}

/** transformers' defaults per model type (its *Config classes), used where config.json omits a field. */
const DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  bert: {
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0,
  },
  roberta: {
    vocab_size: 50265, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 1,
  },
  electra: {
    vocab_size: 30522, embedding_size: 128, hidden_size: 256, num_hidden_layers: 12, num_attention_heads: 4,
    intermediate_size: 1024, hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512, type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0,
    summary_activation: 'gelu', summary_last_dropout: 0.1,
  },
  albert: {
    vocab_size: 30000, embedding_size: 128, hidden_size: 4096, num_hidden_layers: 12, num_hidden_groups: 1,
    num_attention_heads: 64, intermediate_size: 16384, inner_group_num: 1, hidden_act: 'gelu_new',
    hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, max_position_embeddings: 512, type_vocab_size: 2,
    initializer_range: 0.02, layer_norm_eps: 1e-12, classifier_dropout_prob: 0.1, pad_token_id: 0,
  },
};

const ARCH_PREFIX: Record<ModelType, string> = { bert: 'Bert', roberta: 'Roberta', electra: 'Electra', albert: 'Albert' };

const ARCH_SUFFIX: Record<Task, string> = {
  base: 'Model',
  'sequence-classification': 'ForSequenceClassification',
  regression: 'ForSequenceClassification',
  'multiple-choice': 'ForMultipleChoice',
  'token-classification': 'ForTokenClassification',
  'question-answering': 'ForQuestionAnswering',
  'masked-lm': 'ForMaskedLM',
};

/** Named sizes for random initialisation (BERT shapes; the vocabulary comes from the tokenizer). */
export const MODEL_SIZES = {
  tiny: { num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, intermediate_size: 512 },
  mini: { num_hidden_layers: 4, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 },
  small: { num_hidden_layers: 4, hidden_size: 512, num_attention_heads: 8, intermediate_size: 2048 },
  base: { num_hidden_layers: 12, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072 },
} as const;
export type ModelSize = keyof typeof MODEL_SIZES;

/** The transformers architecture name of a family and task, e.g. `BertForSequenceClassification`. */
export function architectureOf(type: ModelType, task: Task): string {
  return ARCH_PREFIX[type] + ARCH_SUFFIX[task];
}

/** Infers the task from `architectures[0]` (and `problem_type` / `num_labels` for regression). */
export function taskFromConfig(raw: Record<string, unknown>): Task {
  const arch = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : '';
  if (arch.endsWith('ForSequenceClassification')) {
    return raw.problem_type === 'regression' || raw.num_labels === 1 || labelCount(raw) === 1 ? 'regression' : 'sequence-classification';
  }
  if (arch.endsWith('ForMultipleChoice')) return 'multiple-choice';
  if (arch.endsWith('ForTokenClassification')) return 'token-classification';
  if (arch.endsWith('ForQuestionAnswering')) return 'question-answering';
  if (arch.endsWith('ForMaskedLM')) return 'masked-lm';
  // BertForPreTraining carries the MLM head (plus NSP, reported as unexpected; AlbertForPreTraining likewise with
  // its sentence-order head, which advtrain does not implement); ElectraForPreTraining is a discriminator.
  if (arch === 'BertForPreTraining' || arch === 'RobertaForPreTraining' || arch === 'AlbertForPreTraining') return 'masked-lm';
  return 'base';
}

function labelCount(raw: Record<string, unknown>): number | undefined {
  const m = raw.id2label;
  return m && typeof m === 'object' ? Object.keys(m).length : undefined;
}

function id2labelOf(raw: Record<string, unknown>, numLabels: number): string[] {
  const m = raw.id2label as Record<string, unknown> | undefined;
  const out: string[] = [];
  for (let i = 0; i < numLabels; i++) {
    const v = m?.[String(i)];
    out.push(typeof v === 'string' ? v : `LABEL_${i}`);
  }
  return out;
}

export interface ConfigOverrides {
  task?: Task;
  numLabels?: number;
  /** Label names by id; sets numLabels. */
  labels?: string[];
}

/**
 * Validates a parsed config.json. `source` names the file in errors.
 *
 * @example
 * ```ts
 * const cfg = parseConfig(JSON.parse(readFileSync('model/config.json', 'utf8')), 'model/config.json');
 * ```
 */
export function parseConfig(json: unknown, source: string, overrides: ConfigOverrides = {}): ModelConfig {
  const bad = (field: string, expected: string, got: unknown) =>
    new AdvtrainError(`${source}: field '${field}' must be ${expected}, got ${JSON.stringify(got)}`, 'ERR_CHECKPOINT');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new AdvtrainError(`${source}: must be a JSON object`, 'ERR_CHECKPOINT');
  const raw = json as Record<string, unknown>;
  const type = raw.model_type;
  if (type !== 'bert' && type !== 'roberta' && type !== 'electra' && type !== 'albert') throw bad('model_type', "'bert', 'roberta', 'electra' or 'albert'", type);
  const get = (k: string) => (raw[k] !== undefined && raw[k] !== null ? raw[k] : DEFAULTS[type][k]);
  const int = (k: string, min: number) => {
    const v = get(k);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(k, `an integer >= ${min}`, v);
    return v;
  };
  const prob = (k: string, fallback?: number) => {
    const v = raw[k] ?? fallback ?? get(k);
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw bad(k, 'a probability in [0, 1)', v);
    return v;
  };
  const positive = (k: string) => {
    const v = get(k);
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad(k, 'a positive number', v);
    return v;
  };
  const act = (k: string) => {
    const v = get(k);
    if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) throw bad(k, `one of ${ACTIVATIONS.join(', ')}`, v);
    return v as (typeof ACTIVATIONS)[number];
  };
  if ((raw.position_embedding_type ?? 'absolute') !== 'absolute') throw bad('position_embedding_type', "'absolute' (relative position embeddings are not supported)", raw.position_embedding_type);
  if (raw.is_decoder === true) throw bad('is_decoder', 'false (advtrain trains encoders)', raw.is_decoder);

  const hiddenSize = int('hidden_size', 1);
  const numHeads = int('num_attention_heads', 1);
  if (hiddenSize % numHeads !== 0) throw bad('hidden_size', `a multiple of num_attention_heads (${numHeads})`, hiddenSize);
  const embeddingSize = type === 'electra' || type === 'albert' ? int('embedding_size', 1) : hiddenSize;
  const numLayers = int('num_hidden_layers', 1);
  const albert = type === 'albert' ? albertFields(raw, numLayers, int, bad) : { numHiddenGroups: 1, innerGroupNum: 1 };
  const hiddenDropout = prob('hidden_dropout_prob');
  const task = overrides.task ?? taskFromConfig(raw);
  let numLabels: number;
  if (overrides.labels) numLabels = overrides.labels.length;
  else if (overrides.numLabels !== undefined) numLabels = overrides.numLabels;
  else numLabels = labelCount(raw) ?? (typeof raw.num_labels === 'number' ? raw.num_labels : 2);
  // advtrain's MLM decoder is always the word-embedding matrix: an untied one would load silently wrong.
  if (task === 'masked-lm' && raw.tie_word_embeddings === false) {
    throw bad('tie_word_embeddings', 'true for masked-lm (advtrain ties the decoder to the word embeddings; an untied decoder is not supported)', raw.tie_word_embeddings);
  }
  if (task === 'regression') numLabels = 1;
  if (task === 'question-answering') numLabels = 2;
  if (!Number.isInteger(numLabels) || numLabels < 1) throw bad('num_labels', 'an integer >= 1', numLabels);
  const vocabSize = int('vocab_size', 1);
  const padTokenId = int('pad_token_id', 0);
  if (padTokenId >= vocabSize) throw bad('pad_token_id', `below vocab_size (${vocabSize})`, padTokenId);
  const maxPositions = int('max_position_embeddings', 1);
  if (type === 'roberta' && maxPositions <= padTokenId + 1) throw bad('max_position_embeddings', `above pad_token_id + 1 (${padTokenId + 1}) for RoBERTa`, maxPositions);
  return {
    modelType: type,
    task,
    vocabSize,
    hiddenSize,
    embeddingSize,
    numLayers,
    ...albert,
    numHeads,
    intermediateSize: int('intermediate_size', 1),
    maxPositions,
    typeVocabSize: int('type_vocab_size', 1),
    padTokenId,
    numLabels,
    hiddenAct: act('hidden_act'),
    hiddenDropout,
    attentionDropout: prob('attention_probs_dropout_prob'),
    // ALBERT names it classifier_dropout_prob (a number, default 0.1); the others classifier_dropout (null: hidden).
    classifierDropout: type === 'albert' ? prob('classifier_dropout_prob') : prob('classifier_dropout', hiddenDropout),
    layerNormEps: positive('layer_norm_eps'),
    initializerRange: positive('initializer_range'),
    summaryActivation: type === 'electra' ? act('summary_activation') : 'gelu',
    summaryLastDropout: type === 'electra' ? prob('summary_last_dropout') : 0,
    id2label: overrides.labels ?? id2labelOf(raw, task === 'regression' || task === 'question-answering' ? 0 : numLabels),
    raw,
  };
}

/** ALBERT's own fields, validated: the layer sharing (num_hidden_groups, inner_group_num) and a non-null classifier_dropout_prob. */
function albertFields(
  raw: Record<string, unknown>,
  numLayers: number,
  int: (k: string, min: number) => number,
  bad: (field: string, expected: string, got: unknown) => Error,
): { numHiddenGroups: number; innerGroupNum: number } {
  const numHiddenGroups = int('num_hidden_groups', 1);
  // transformers builds groups that no layer uses when num_hidden_groups > num_hidden_layers; advtrain refuses
  // parameters that never train.
  if (numHiddenGroups > numLayers) throw bad('num_hidden_groups', `at most num_hidden_layers (${numLayers}): more groups than layers leaves groups unused`, numHiddenGroups);
  // transformers' AlbertConfig refuses null here (a number is required).
  if (raw.classifier_dropout_prob === null) throw bad('classifier_dropout_prob', 'a probability in [0, 1)', null);
  return { numHiddenGroups, innerGroupNum: int('inner_group_num', 1) };
}

/** Encoder layers run in one forward, as hidden states and attentions are reported: num_hidden_layers, times
 * inner_group_num for ALBERT (transformers records every AlbertLayer call). */
export function layerApplications(cfg: ModelConfig): number {
  return cfg.numLayers * cfg.innerGroupNum;
}

/** The longest sequence the position embeddings allow (RoBERTa's positions start after padding_idx). */
export function maxSeqLen(cfg: ModelConfig): number {
  return cfg.modelType === 'roberta' ? cfg.maxPositions - cfg.padTokenId - 1 : cfg.maxPositions;
}

/** config.json content in transformers' format: the original fields plus this model's shape and head. */
export function configToJson(cfg: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg.raw };
  delete out.num_labels;
  Object.assign(out, {
    architectures: [architectureOf(cfg.modelType, cfg.task)],
    model_type: cfg.modelType,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: cfg.hiddenAct,
    hidden_dropout_prob: cfg.hiddenDropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocabSize,
    initializer_range: cfg.initializerRange,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: cfg.padTokenId,
    position_embedding_type: 'absolute',
  });
  if (cfg.modelType === 'electra' || cfg.modelType === 'albert') out.embedding_size = cfg.embeddingSize;
  if (cfg.modelType === 'albert') {
    Object.assign(out, { num_hidden_groups: cfg.numHiddenGroups, inner_group_num: cfg.innerGroupNum, classifier_dropout_prob: cfg.classifierDropout });
  } else if (cfg.classifierDropout !== cfg.hiddenDropout) out.classifier_dropout = cfg.classifierDropout;
  if (cfg.task === 'regression') {
    out.problem_type = 'regression';
    out.id2label = { '0': 'LABEL_0' };
    out.label2id = { LABEL_0: 0 };
  } else if (cfg.task === 'sequence-classification' || cfg.task === 'token-classification') {
    out.problem_type = cfg.task === 'sequence-classification' ? 'single_label_classification' : undefined;
    out.id2label = Object.fromEntries(cfg.id2label.map((l, i) => [String(i), l]));
    out.label2id = Object.fromEntries(cfg.id2label.map((l, i) => [l, i]));
  }
  if (out.problem_type === undefined) delete out.problem_type;
  if (out.torch_dtype === undefined && out.dtype === undefined) out.torch_dtype = 'float32';
  return out;
}
