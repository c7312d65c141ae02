/**
 * Model configuration: reads a Hugging Face config.json (bert, roberta, electra, albert, deberta-v2), validates it, and
 * writes it back in transformers' format. The native side receives the validated `ModelConfig`.
 */
import { AdvtrainError } from '../errors.js';

export type ModelType = 'bert' | 'roberta' | 'electra' | 'albert' | 'deberta-v2';

const MODEL_TYPES: readonly ModelType[] = ['bert', 'roberta', 'electra', 'albert', 'deberta-v2'];

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

/** DeBERTa-v2/v3 fields (DebertaV2Config and the attributes its modules read with getattr), resolved. */
export interface DebertaV2Fields {
  relativeAttention: boolean;
  /** pos_att_type entries: content->position and position->content scores. */
  c2p: boolean;
  p2c: boolean;
  /** position_buckets (> 0: log-bucketed relative positions). */
  positionBuckets: number;
  /** max_relative_positions, resolved: max_position_embeddings when < 1. */
  maxRelativePositions: number;
  shareAttKey: boolean;
  /** norm_rel_ebd contains 'layer_norm'. */
  normRelEmbedding: boolean;
  positionBiasedInput: boolean;
  convKernelSize: number;
  convGroups: number;
  convAct: (typeof ACTIVATIONS)[number];
  poolerAct: (typeof ACTIVATIONS)[number];
  poolerDropout: number;
}

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
  /** Present for model_type 'deberta-v2'. */
  deberta?: DebertaV2Fields;
  /**
   * Physically pruned heads per layer, in the original numbering, sorted (config.json `pruned_heads`,
   * transformers 4.x's format). Absent: none. BERT, RoBERTa and ELECTRA only.
   */
  prunedHeads?: number[][];
  /** FFN width per layer once neurons were pruned (config.json `advtrain_intermediate_sizes`). Absent: intermediateSize. */
  intermediateSizes?: number[];
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
  // DebertaV2Config, plus the getattr defaults of modeling_deberta_v2 (position_buckets, share_att_key,
  // norm_rel_ebd, conv_*); embedding_size and pooler_hidden_size default to hidden_size.
  'deberta-v2': {
    vocab_size: 128100, hidden_size: 1536, num_hidden_layers: 24, num_attention_heads: 24, intermediate_size: 6144,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 0, initializer_range: 0.02, layer_norm_eps: 1e-7, pad_token_id: 0, relative_attention: false,
    max_relative_positions: -1, position_biased_input: true, pos_att_type: null, pooler_dropout: 0, pooler_hidden_act: 'gelu',
    legacy: true, position_buckets: -1, share_att_key: false, norm_rel_ebd: 'none', conv_kernel_size: 0, conv_groups: 1,
    conv_act: 'tanh',
  },
};

const ARCH_PREFIX: Record<ModelType, string> = { bert: 'Bert', roberta: 'Roberta', electra: 'Electra', albert: 'Albert', 'deberta-v2': 'DebertaV2' };

/** The attribute name of the encoder inside a task model (transformers' base_model_prefix). */
export function basePrefix(type: ModelType): string {
  return type === 'deberta-v2' ? 'deberta' : type;
}

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
  if (!(MODEL_TYPES as readonly unknown[]).includes(raw.model_type)) throw bad('model_type', "'bert', 'roberta', 'electra', 'albert' or 'deberta-v2'", raw.model_type);
  const type = raw.model_type as ModelType;
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
  const embeddingSize =
    type === 'electra' || type === 'albert' ? int('embedding_size', 1) : type === 'deberta-v2' ? (raw.embedding_size == null ? hiddenSize : int('embedding_size', 1)) : hiddenSize;
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
  const deberta = type === 'deberta-v2' ? debertaFields(raw, get, bad, { hiddenSize, numHeads, embeddingSize, maxPositions, task, prob, act }) : undefined;
  if (type === 'roberta' && maxPositions <= padTokenId + 1) throw bad('max_position_embeddings', `above pad_token_id + 1 (${padTokenId + 1}) for RoBERTa`, maxPositions);
  const intermediateSize = int('intermediate_size', 1);
  const pruned = prunedFields(raw, type, numLayers, numHeads, intermediateSize, bad);
  return {
    modelType: type,
    task,
    vocabSize,
    hiddenSize,
    embeddingSize,
    numLayers,
    ...albert,
    numHeads,
    intermediateSize,
    maxPositions,
    typeVocabSize: int('type_vocab_size', type === 'deberta-v2' ? 0 : 1), // DeBERTa-v3 has none
    padTokenId,
    numLabels,
    hiddenAct: act('hidden_act'),
    hiddenDropout,
    attentionDropout: prob('attention_probs_dropout_prob'),
    // ALBERT names it classifier_dropout_prob (a number, default 0.1), DeBERTa cls_dropout; the others classifier_dropout (null: hidden).
    classifierDropout:
      type === 'albert' ? prob('classifier_dropout_prob') : type === 'deberta-v2' ? prob('cls_dropout', hiddenDropout) : prob('classifier_dropout', hiddenDropout),
    layerNormEps: positive('layer_norm_eps'),
    initializerRange: positive('initializer_range'),
    summaryActivation: type === 'electra' ? act('summary_activation') : 'gelu',
    summaryLastDropout: type === 'electra' ? prob('summary_last_dropout') : 0,
    ...(deberta ? { deberta } : {}),
    ...pruned,
    id2label: overrides.labels ?? id2labelOf(raw, task === 'regression' || task === 'question-answering' ? 0 : numLabels),
    raw,
  };
}

/** Families whose layers can be pruned (ALBERT shares layers; DeBERTa-v2 has its own attention). */
export const PRUNABLE_TYPES: readonly ModelType[] = ['bert', 'roberta', 'electra'];

/**
 * `pruned_heads` ({ "<layer>": [head, ...] }, transformers 4.x's PretrainedConfig field; 5.x no longer reads it)
 * and `advtrain_intermediate_sizes` (one FFN width per layer), validated.
 */
function prunedFields(
  raw: Record<string, unknown>,
  type: ModelType,
  numLayers: number,
  numHeads: number,
  intermediateSize: number,
  bad: Bad,
): { prunedHeads?: number[][]; intermediateSizes?: number[] } {
  const out: { prunedHeads?: number[][]; intermediateSizes?: number[] } = {};
  const ph = raw.pruned_heads;
  const hasHeads = ph !== undefined && ph !== null && !(typeof ph === 'object' && !Array.isArray(ph) && Object.keys(ph).length === 0);
  const sizes = raw.advtrain_intermediate_sizes;
  if ((hasHeads || (sizes !== undefined && sizes !== null)) && !PRUNABLE_TYPES.includes(type)) {
    throw bad(hasHeads ? 'pruned_heads' : 'advtrain_intermediate_sizes', `absent for model_type '${type}' (pruned layers are supported for ${PRUNABLE_TYPES.join(', ')})`, hasHeads ? ph : sizes);
  }
  if (hasHeads) {
    if (typeof ph !== 'object' || Array.isArray(ph)) throw bad('pruned_heads', 'an object { "<layer>": [head indices] }', ph);
    const heads: number[][] = Array.from({ length: numLayers }, () => []);
    for (const [k, v] of Object.entries(ph as Record<string, unknown>)) {
      const layer = Number(k);
      if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers || String(layer) !== k) throw bad(`pruned_heads.${k}`, `a layer index in [0, ${numLayers})`, k);
      if (!Array.isArray(v) || v.some((h) => !Number.isInteger(h) || h < 0 || h >= numHeads)) throw bad(`pruned_heads.${k}`, `head indices in [0, ${numHeads})`, v);
      const set = [...new Set(v as number[])].sort((a, b) => a - b);
      if (set.length >= numHeads) throw bad(`pruned_heads.${k}`, 'fewer heads than num_attention_heads (a layer keeps at least one)', v);
      heads[layer] = set;
    }
    out.prunedHeads = heads;
  }
  if (sizes !== undefined && sizes !== null) {
    if (!Array.isArray(sizes) || sizes.length !== numLayers || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > intermediateSize)) {
      throw bad('advtrain_intermediate_sizes', `${numLayers} integers in [1, intermediate_size (${intermediateSize})]`, sizes);
    }
    out.intermediateSizes = [...(sizes as number[])];
  }
  return out;
}

/** Heads and FFN width of each layer, as the native model builds them. */
export function layerShapes(cfg: ModelConfig): { layerHeads: number[]; layerIntermediate: number[] } {
  return {
    layerHeads: Array.from({ length: cfg.numLayers }, (_, i) => cfg.numHeads - (cfg.prunedHeads?.[i]?.length ?? 0)),
    layerIntermediate: cfg.intermediateSizes ? [...cfg.intermediateSizes] : Array.from({ length: cfg.numLayers }, () => cfg.intermediateSize),
  };
}

/** True when some layer has fewer heads or FFN neurons than the config's full sizes. */
export function isPruned(cfg: ModelConfig): boolean {
  return (cfg.prunedHeads?.some((h) => h.length > 0) ?? false) || (cfg.intermediateSizes?.some((n) => n !== cfg.intermediateSize) ?? false);
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

type Bad = (field: string, expected: string, got: unknown) => AdvtrainError;

/** DeBERTa-v2 fields, refused by name where transformers would compute something advtrain does not. */
function debertaFields(
  raw: Record<string, unknown>,
  get: (k: string) => unknown,
  bad: Bad,
  o: { hiddenSize: number; numHeads: number; embeddingSize: number; maxPositions: number; task: Task; prob: (k: string) => number; act: (k: string) => (typeof ACTIVATIONS)[number] },
): DebertaV2Fields {
  const bool = (k: string) => {
    const v = get(k);
    if (typeof v !== 'boolean') throw bad(k, 'a boolean', v);
    return v;
  };
  const integer = (k: string) => {
    const v = get(k);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(k, 'an integer', v);
    return v;
  };
  // pos_att_type: a list, or a '|'-separated string (DebertaV2Config splits it); transformers ignores other
  // entries silently (DeBERTa-v1's 'p2p'), advtrain refuses them.
  const pat = get('pos_att_type');
  let entries: unknown[];
  if (pat === null || pat === undefined) entries = [];
  else if (typeof pat === 'string') entries = pat.toLowerCase().split('|').map((x) => x.trim());
  else if (Array.isArray(pat)) entries = pat;
  else throw bad('pos_att_type', "a list of 'c2p' / 'p2c' (or a '|'-separated string)", pat);
  for (const e of entries) if (e !== 'c2p' && e !== 'p2c') throw bad('pos_att_type', "entries 'c2p' or 'p2c'", pat);
  const norm = get('norm_rel_ebd');
  if (typeof norm !== 'string') throw bad('norm_rel_ebd', "'none' or 'layer_norm'", norm);
  const normParts = norm.toLowerCase().split('|').map((x) => x.trim());
  if (normParts.some((x) => x !== 'none' && x !== 'layer_norm')) throw bad('norm_rel_ebd', "'none' or 'layer_norm'", norm);
  const maxRel = integer('max_relative_positions');
  const convKernelSize = integer('conv_kernel_size');
  const convGroups = integer('conv_groups');
  if (convKernelSize > 0 && convKernelSize % 2 === 0) throw bad('conv_kernel_size', 'odd (an even kernel changes the sequence length: transformers fails too)', convKernelSize);
  if (convKernelSize > 0 && (convGroups < 1 || o.hiddenSize % convGroups !== 0)) throw bad('conv_groups', `a divisor of hidden_size (${o.hiddenSize})`, convGroups);
  if (raw.pooler_hidden_size != null && raw.pooler_hidden_size !== o.hiddenSize) throw bad('pooler_hidden_size', `hidden_size (${o.hiddenSize}): the classifier reads the pooler's output as hidden_size wide`, raw.pooler_hidden_size);
  if (raw.attention_head_size != null && raw.attention_head_size !== o.hiddenSize / o.numHeads) throw bad('attention_head_size', `hidden_size / num_attention_heads (${o.hiddenSize / o.numHeads})`, raw.attention_head_size);
  // legacy false selects DebertaV2OnlyMLMHead, which transformers 5.18's from_pretrained cannot load (it fails
  // on the tied lm_predictions.lm_head.weight): no reference to match, so refused for masked LM.
  if (o.task === 'masked-lm' && !bool('legacy')) throw bad('legacy', 'true for masked-lm (the lm_predictions head of legacy false is not supported)', raw.legacy);
  const fields: DebertaV2Fields = {
    relativeAttention: bool('relative_attention'),
    c2p: entries.includes('c2p'),
    p2c: entries.includes('p2c'),
    positionBuckets: integer('position_buckets'),
    maxRelativePositions: maxRel < 1 ? o.maxPositions : maxRel,
    shareAttKey: bool('share_att_key'),
    normRelEmbedding: normParts.includes('layer_norm'),
    positionBiasedInput: bool('position_biased_input'),
    convKernelSize: Math.max(0, convKernelSize),
    convGroups,
    convAct: o.act('conv_act'),
    poolerAct: o.act('pooler_hidden_act'),
    poolerDropout: o.prob('pooler_dropout'),
  };
  // make_log_bucket_position divides by log((max_relative_positions - 1) / (position_buckets / 2)).
  const mid = Math.floor(fields.positionBuckets / 2);
  if (fields.relativeAttention && fields.positionBuckets > 0 && (mid < 1 || fields.maxRelativePositions <= mid + 1)) {
    throw bad('position_buckets', `>= 2 with position_buckets / 2 + 1 below max_relative_positions (${fields.maxRelativePositions})`, fields.positionBuckets);
  }
  return fields;
}

/** The longest sequence the position embeddings allow (RoBERTa's positions start after padding_idx). */
export function maxSeqLen(cfg: ModelConfig): number {
  return cfg.modelType === 'roberta' ? cfg.maxPositions - cfg.padTokenId - 1 : cfg.maxPositions;
}

/** config.json content in transformers' format: the original fields plus this model's shape and head. */
export function configToJson(cfg: ModelConfig, options: { padded?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg.raw };
  delete out.num_labels;
  // A padded export (Model.save's 'hf-padded') holds full-size zero-padded layers: no pruning fields.
  delete out.pruned_heads;
  delete out.advtrain_intermediate_sizes;
  if (!options.padded && cfg.prunedHeads?.some((h) => h.length > 0)) {
    out.pruned_heads = Object.fromEntries(cfg.prunedHeads.map((h, i) => [String(i), h] as const).filter(([, h]) => h.length > 0));
  }
  if (!options.padded && cfg.intermediateSizes?.some((n) => n !== cfg.intermediateSize)) out.advtrain_intermediate_sizes = [...cfg.intermediateSizes];
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
  });
  if (cfg.modelType !== 'deberta-v2') out.position_embedding_type = 'absolute';
  if (cfg.modelType === 'electra' || cfg.modelType === 'albert') out.embedding_size = cfg.embeddingSize;
  if (cfg.deberta) Object.assign(out, debertaJson(cfg));
  if (cfg.modelType === 'albert') {
    Object.assign(out, { num_hidden_groups: cfg.numHiddenGroups, inner_group_num: cfg.innerGroupNum, classifier_dropout_prob: cfg.classifierDropout });
  } else if (cfg.classifierDropout !== cfg.hiddenDropout) out[cfg.modelType === 'deberta-v2' ? 'cls_dropout' : 'classifier_dropout'] = cfg.classifierDropout;
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

function debertaJson(cfg: ModelConfig): Record<string, unknown> {
  const d = cfg.deberta!;
  const raw = cfg.raw;
  return {
    embedding_size: cfg.embeddingSize,
    relative_attention: d.relativeAttention,
    // The original spelling (order, string form) when the file had one.
    pos_att_type: raw.pos_att_type ?? [...(d.c2p ? ['c2p'] : []), ...(d.p2c ? ['p2c'] : [])],
    position_buckets: d.positionBuckets,
    max_relative_positions: typeof raw.max_relative_positions === 'number' ? raw.max_relative_positions : d.maxRelativePositions,
    share_att_key: d.shareAttKey,
    norm_rel_ebd: typeof raw.norm_rel_ebd === 'string' ? raw.norm_rel_ebd : d.normRelEmbedding ? 'layer_norm' : 'none',
    position_biased_input: d.positionBiasedInput,
    conv_kernel_size: d.convKernelSize,
    conv_groups: d.convGroups,
    conv_act: d.convAct,
    pooler_hidden_act: d.poolerAct,
    pooler_dropout: d.poolerDropout,
    pooler_hidden_size: cfg.hiddenSize,
    legacy: raw.legacy ?? true,
  };
}
