/**
 * Finds a checkpoint's tensors and maps their keys onto the model's parameters the way transformers'
 * from_pretrained does: with or without the base-model prefix, legacy LayerNorm gamma/beta, tied
 * aliases; reporting missing, unexpected and mismatched keys.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AdvtrainError } from '../errors.js';
import { readCheckpointJson } from '../io/json-file.js';
import { basePrefix, type ModelConfig } from './config.js';
import { readSafetensorsHeader, type TensorEntry } from './safetensors.js';

export interface CheckpointTensor extends TensorEntry {
  file: string;
}

/** Every tensor of the folder's model.safetensors, or of the shards its index lists. */
export function checkpointTensors(dir: string): Map<string, CheckpointTensor> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const out = new Map<string, CheckpointTensor>();
  const addFile = (file: string) => {
    for (const [k, e] of readSafetensorsHeader(file).tensors) {
      if (out.has(k)) throw new AdvtrainError(`${file}: tensor '${k}' appears in two shards`, 'ERR_CHECKPOINT');
      out.set(k, { ...e, file });
    }
  };
  if (existsSync(single)) {
    addFile(single);
    return out;
  }
  if (existsSync(index)) {
    const json = readCheckpointJson(index);
    const map = (json as { weight_map?: unknown }).weight_map;
    if (typeof map !== 'object' || map === null) throw new AdvtrainError(`${index}: missing object 'weight_map'`, 'ERR_CHECKPOINT');
    const files = new Set<string>();
    for (const [k, f] of Object.entries(map)) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f.startsWith('.')) {
        throw new AdvtrainError(`${index}: weight_map['${k}'] must be a file name in the folder, got ${JSON.stringify(f)}`, 'ERR_CHECKPOINT');
      }
      files.add(f);
    }
    for (const f of [...files].sort()) addFile(join(dir, f));
    for (const [k, f] of Object.entries(map as Record<string, string>)) {
      const t = out.get(k);
      if (!t || t.file !== join(dir, f)) throw new AdvtrainError(`${index}: weight_map says '${k}' is in ${f}, but it is not there`, 'ERR_CHECKPOINT');
    }
    return out;
  }
  for (const pickle of ['pytorch_model.bin', 'pytorch_model.bin.index.json']) {
    if (existsSync(join(dir, pickle))) {
      throw new AdvtrainError(
        `${join(dir, pickle)}: PyTorch pickle checkpoints are refused (unpickling can run arbitrary code). Convert it once to safetensors with Python:\n` +
          `  python -c "from transformers import AutoModel; m = AutoModel.from_pretrained('${dir}'); m.save_pretrained('${dir}', safe_serialization=True)"\n` +
          '(use the Auto class of your head, e.g. AutoModelForSequenceClassification, to keep the head weights).',
        'ERR_CHECKPOINT',
      );
    }
  }
  throw new AdvtrainError(`${dir}: no model.safetensors or model.safetensors.index.json`, 'ERR_CHECKPOINT');
}

export interface ParamInfo {
  name: string;
  shape: number[];
}

export interface KeyMapping {
  /** Model parameter name -> checkpoint tensor. */
  assignments: Map<string, CheckpointTensor>;
  /** Parameters the checkpoint lacks: they keep their random initialisation. */
  missingKeys: string[];
  /** Checkpoint tensors the model has no use for. */
  unexpectedKeys: string[];
  /** Checkpoint tensors whose shape differs from the parameter's (only with ignoreMismatchedSizes). */
  mismatchedKeys: { key: string; checkpoint: number[]; model: number[] }[];
}

// Buffers older transformers versions saved; the model recomputes them.
const IGNORED = [/(^|\.)embeddings\.position_ids$/, /(^|\.)embeddings\.token_type_ids$/];

/** transformers' _keys_to_ignore_on_load_unexpected (searched as regexes, silently dropped): DeBERTa-v2's
 * absolute positions a config turned off (position_biased_input false), or in masked LM, whose class
 * overrides the list, the pre-training mask_predictions head. */
function ignoredFor(cfg: ModelConfig): RegExp[] {
  if (cfg.modelType !== 'deberta-v2') return IGNORED;
  return [...IGNORED, cfg.task === 'masked-lm' ? /mask_predictions.*/ : /position_embeddings/];
}

function legacyName(key: string): string {
  return key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
}

/** Maps checkpoint keys onto parameters; a shape mismatch is an error unless `ignoreMismatchedSizes`. */
export function mapCheckpointKeys(
  cfg: ModelConfig,
  params: ParamInfo[],
  aliases: [string, string][],
  tensors: Map<string, CheckpointTensor>,
  ignoreMismatchedSizes = false,
): KeyMapping {
  const prefix = `${basePrefix(cfg.modelType)}.`;
  const expectsPrefix = cfg.task !== 'base';
  const byName = new Map(params.map((p) => [p.name, p]));
  const alias = new Map(aliases);
  const assignments = new Map<string, CheckpointTensor>();
  const viaAlias = new Set<string>();
  const unexpectedKeys: string[] = [];
  const ignored = ignoredFor(cfg);
  const mismatchedKeys: KeyMapping['mismatchedKeys'] = [];
  for (const [key, t] of tensors) {
    let name = legacyName(key);
    if (expectsPrefix && !byName.has(name) && !alias.has(name) && byName.has(prefix + name)) name = prefix + name;
    if (!expectsPrefix && name.startsWith(prefix) && byName.has(name.slice(prefix.length))) name = name.slice(prefix.length);
    const isAlias = alias.has(name);
    if (isAlias) name = alias.get(name)!;
    const p = byName.get(name);
    if (!p) {
      if (!ignored.some((r) => r.test(key))) unexpectedKeys.push(key);
      continue;
    }
    // A tied alias (e.g. the MLM decoder) only fills its parameter when the primary name is absent.
    if (assignments.has(name) && (isAlias || !viaAlias.has(name))) continue;
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      if (!ignoreMismatchedSizes) {
        throw new AdvtrainError(
          `${t.file}: size mismatch for ${name}: the checkpoint has shape [${t.shape.join(', ')}] but the model needs [${p.shape.join(', ')}]` +
            ' (pass numLabels matching the checkpoint, or ignoreMismatchedSizes: true to re-initialise it)',
          'ERR_CHECKPOINT',
        );
      }
      mismatchedKeys.push({ key, checkpoint: t.shape, model: p.shape });
      continue;
    }
    assignments.set(name, t);
    if (isAlias) viaAlias.add(name);
    else viaAlias.delete(name);
  }
  const missingKeys = params.map((p) => p.name).filter((n) => !assignments.has(n));
  return { assignments, missingKeys, unexpectedKeys, mismatchedKeys };
}
