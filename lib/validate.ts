/**
 * Argument checks used at the native boundary: TypeScript validates, C++ trusts.
 * Each helper throws {@link invalidArg} naming the field, the expectation and the value.
 */
import { invalidArg } from './errors.js';

export interface NumberBounds {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
}

function boundsText(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.min !== undefined) parts.push(`>= ${b.min}`);
  if (b.max !== undefined) parts.push(`<= ${b.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function inBounds(v: number, b: NumberBounds): boolean {
  return (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max) && (b.above === undefined || v > b.above);
}

/** A finite number within bounds. */
export function finiteNumber(name: string, value: unknown, bounds: NumberBounds = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !inBounds(value, bounds)) {
    throw invalidArg(name, `a finite number${boundsText(bounds)}`, value);
  }
  return value;
}

/** An integer within bounds. */
export function integer(name: string, value: unknown, bounds: NumberBounds = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || !inBounds(value, bounds)) {
    throw invalidArg(name, `an integer${boundsText(bounds)}`, value);
  }
  return value;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArg(name, 'a boolean', value);
  return value;
}

export function string(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArg(name, 'a non-empty string', value);
  return value;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidArg(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

/** A plain object (not null, not an array). */
export function object(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw invalidArg(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

/** Rejects keys the caller did not mean (a typo in an option name is a silent bug otherwise). */
export function knownKeys(name: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined && !allowed.includes(key)) {
      throw invalidArg(`${name}.${key}`, `no such option (allowed: ${allowed.join(', ')})`, value[key]);
    }
  }
}

/** An Int32Array of exactly `length` elements. */
export function int32Array(name: string, value: unknown, length: number): Int32Array {
  if (!(value instanceof Int32Array)) throw invalidArg(name, `an Int32Array of length ${length}`, value);
  if (value.length !== length) throw invalidArg(name, `an Int32Array of length ${length}`, value);
  return value;
}

/** A Float32Array of exactly `length` elements. */
export function float32Array(name: string, value: unknown, length: number): Float32Array {
  if (!(value instanceof Float32Array) || value.length !== length) throw invalidArg(name, `a Float32Array of length ${length}`, value);
  return value;
}

/** Every element of `values` lies in [min, max] (ids inside the vocabulary, say); names the first offender. */
export function int32Range(name: string, values: Int32Array, min: number, max: number, allow?: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if ((v < min || v > max) && v !== allow) {
      throw invalidArg(`${name}[${i}]`, `an integer in [${min}, ${max}]${allow !== undefined ? ` or ${allow}` : ''}`, v);
    }
  }
}
