/** Reading tokenizer files, with errors that name the file, the field, what was expected and what was found. */
import { readFile } from 'node:fs/promises';
import { AdvtrainError, describeValue } from '../errors.js';

/** The file-side twin of `invalidArg`: "Expected <what> for <field> in <file> but received <value>". */
export function badFile(file: string, field: string, expected: string, value: unknown): AdvtrainError {
  return new AdvtrainError(`Expected ${expected} for ${field} in ${file} but received ${describeValue(value)}`, 'ERR_CHECKPOINT');
}

/** The file's bytes, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AdvtrainError(`Cannot read ${path}: ${(err as Error).message}`, 'ERR_CHECKPOINT', { cause: err });
  }
}

/** Parses a JSON file that must hold an object. */
export function parseJsonObject(path: string, bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AdvtrainError(`Expected valid JSON in ${path} but parsing failed: ${(err as Error).message}`, 'ERR_CHECKPOINT', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badFile(path, 'the top level', 'a JSON object', value);
  return value as Record<string, unknown>;
}
