/** Reading the JSON files of saved folders (config.json, the weight index, trainer_state.json, the manifest). */
import { readFileSync } from 'node:fs';
import { AdvtrainError } from '../errors.js';

/** The parsed contents of `path`; ERR_CHECKPOINT naming the file when it cannot be read as JSON. */
export function readCheckpointJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AdvtrainError(`${path}: not valid JSON: ${(err as Error).message}`, 'ERR_CHECKPOINT');
  }
}
