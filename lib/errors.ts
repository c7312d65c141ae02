/**
 * Errors thrown by advtrain. Every failure, native or TypeScript, is an {@link AdvtrainError} with a
 * stable `code`, so callers can branch on `err.code` instead of parsing messages.
 */

/** Stable error codes. */
export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_CHECKPOINT'
  | 'ERR_DATA'
  | 'ERR_CUDA_OOM'
  | 'ERR_OOM'
  | 'ERR_CUDA_UNAVAILABLE'
  | 'ERR_NATIVE'
  | 'ERR_ADDON_MISSING'
  | 'ERR_BUSY'
  | 'ERR_DISPOSED'
  | 'ERR_NON_FINITE'
  | 'ERR_ABORTED'
  /** A file or folder cannot be created, written or removed; the message names the path. */
  | 'ERR_IO'
  /** A collective, the rendezvous or a peer rank failed; the message names the rank. */
  | 'ERR_DISTRIBUTED';

/**
 * The error class of the package; native exceptions are translated into it in one place
 * (native/binding/errors.cc).
 *
 * @example
 * ```ts
 * try { await model.forward(batch); }
 * catch (err) { if (err instanceof AdvtrainError && err.code === 'ERR_CUDA_OOM') halveBatch(); }
 * ```
 */
export class AdvtrainError extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode = 'ERR_NATIVE', options?: ErrorOptions) {
    super(message, options);
    this.name = 'AdvtrainError';
    this.code = code;
  }
}

/** Renders a value for an error message: short, with its type. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    const len = 'length' in value ? (value as unknown as { length: number }).length : value.byteLength;
    return `${name} of length ${len}`;
  }
  if (Array.isArray(value)) return `array of length ${value.length}`;
  const type = typeof value;
  if (type === 'string') {
    const s = value as string;
    return `'${s.length > 60 ? `${s.slice(0, 57)}...` : s}' of type string`;
  }
  if (type === 'number' || type === 'boolean' || type === 'bigint') return `${String(value)} of type ${type}`;
  if (type === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/** "Expected <expected> for <name> but received <value>": the one form every argument error takes. */
export function invalidArg(name: string, expected: string, value: unknown): AdvtrainError {
  return new AdvtrainError(`Expected ${expected} for ${name} but received ${describeValue(value)}`, 'ERR_INVALID_ARG');
}
