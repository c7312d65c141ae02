/**
 * advtrain-manifest.json: the size and sha256 of every file of a saved model folder, written last. A
 * folder whose files disagree with it (a save killed half-way through replacing them, or files changed
 * since) is refused with ERR_CHECKPOINT naming the file; folders without one (transformers') load as before.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AdvtrainError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { readCheckpointJson } from './json-file.js';

export const MANIFEST = 'advtrain-manifest.json';

/** Files a Hugging Face model folder is loaded from. */
const MODEL_FILE = /^(model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.txt|vocab\.json|merges\.txt)$/;

/** True for a name that is part of a saved model (what loadModel may read). */
export function isModelFile(name: string): boolean {
  return MODEL_FILE.test(name) || name === MANIFEST;
}

interface Manifest {
  format: 'advtrain-manifest';
  version: 1;
  files: Record<string, { size: number; sha256: string }>;
}

/** sha256 of a file, read in 1 MiB chunks (about 1 GB/s with SHA extensions). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hashes `names` in `dir` and writes the manifest (atomically, after them). */
export async function writeManifest(dir: string, names: string[]): Promise<void> {
  const files: Manifest['files'] = {};
  for (const name of [...names].filter((n) => n !== MANIFEST).sort()) files[name] = { size: statSync(join(dir, name)).size, sha256: await sha256File(join(dir, name)) };
  const manifest: Manifest = { format: 'advtrain-manifest', version: 1, files };
  await writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The names a folder's manifest lists, or undefined when it has none. */
export function manifestFiles(dir: string): string[] | undefined {
  const path = join(dir, MANIFEST);
  return existsSync(path) ? Object.keys(readManifest(path).files) : undefined;
}

function readManifest(path: string): Manifest {
  const m = readCheckpointJson(path) as Manifest;
  const entries = m && typeof m === 'object' && m.files && typeof m.files === 'object' ? Object.values(m.files) : undefined;
  if (m?.format !== 'advtrain-manifest' || !entries || !entries.every((e) => Number.isInteger(e?.size) && typeof e.sha256 === 'string')) {
    throw new AdvtrainError(`${path}: not an advtrain manifest (format, files with size and sha256)`, 'ERR_CHECKPOINT');
  }
  return m;
}

/**
 * Checks `dir` against its manifest, when it has one: every listed file present with its size and
 * sha256 (files it does not list, added later, are not its concern). Throws ERR_CHECKPOINT naming the first file that disagrees.
 */
export async function checkManifest(dir: string): Promise<void> {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return;
  const { files } = readManifest(path);
  const refuse = (name: string, what: string) =>
    new AdvtrainError(
      `${join(dir, name)}: ${what}; the folder's files come from different saves (a save was interrupted, or the files changed since). ` +
        `Save the model again, use the run's newest checkpoint-N, or delete ${MANIFEST} if the change was intended`,
      'ERR_CHECKPOINT',
    );
  for (const [name, want] of Object.entries(files)) {
    const file = join(dir, name);
    if (!existsSync(file)) throw refuse(name, `missing (listed in ${MANIFEST})`);
    const size = statSync(file).size;
    if (size !== want.size) throw refuse(name, `${size} bytes, ${MANIFEST} says ${want.size}`);
    if ((await sha256File(file)) !== want.sha256) throw refuse(name, `sha256 differs from ${MANIFEST}`);
  }
}
