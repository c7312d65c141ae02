/**
 * safetensors headers, read and validated before any byte of tensor data is trusted: the header length
 * is bounded by the file size, the JSON is strict, dtypes are the known ones, offsets lie inside the
 * data section, tensors neither overlap nor leave holes, and each byte range matches shape x dtype size.
 * Every violation is an ERR_CHECKPOINT naming the file and the tensor. The native side then reads the
 * validated ranges only (native/io/safetensors.cc).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AdvtrainError } from '../errors.js';

/** Element sizes of the dtypes advtrain reads. */
export const DTYPE_SIZES = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** One tensor of a file: absolute byte range [begin, end). */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  size: number;
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** The reference implementation's cap on header size. */
const MAX_HEADER_BYTES = 100_000_000;

function bad(file: string, what: string): AdvtrainError {
  return new AdvtrainError(`${file}: ${what}`, 'ERR_CHECKPOINT');
}

function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw bad(file, `file ended after ${position + done} bytes while reading ${length} bytes at offset ${position}`);
    done += n;
  }
  return buf;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates the header of `file`. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw bad(file, `cannot open: ${(err as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw bad(file, `file is ${size} bytes; a safetensors file starts with an 8-byte header length`);
    const n = readExactly(fd, 8, 0, file).readBigUInt64LE(0);
    if (n > BigInt(size - 8)) throw bad(file, `header length ${n} exceeds the ${size - 8} bytes after the length field`);
    if (n > BigInt(MAX_HEADER_BYTES)) throw bad(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    if (n < 2n) throw bad(file, `header length ${n} is too small for a JSON object`);
    const headerLen = Number(n);
    const raw = readExactly(fd, headerLen, 8, file);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw bad(file, 'header is not valid UTF-8');
    }
    if (text[0] !== '{') throw bad(file, `header must be a JSON object, starts with ${JSON.stringify(text.slice(0, 10))}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw bad(file, `header is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(file, 'header must be a JSON object');
    const dataStart = 8 + headerLen;
    const dataSize = size - dataStart;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(file, '__metadata__ must be an object of strings');
        for (const [k, v] of Object.entries(value)) {
          if (typeof v !== 'string') throw bad(file, `__metadata__.${k} must be a string, got ${typeof v}`);
        }
        metadata = value as Record<string, string>;
        continue;
      }
      tensors.set(name, validateEntry(file, name, value, dataStart, dataSize));
    }
    checkLayout(file, [...tensors.values()], dataStart, dataSize);
    return { file, size, dataStart, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function validateEntry(file: string, name: string, value: unknown, dataStart: number, dataSize: number): TensorEntry {
  const where = `tensor '${name}'`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(file, `${where}: entry must be an object`);
  const e = value as Record<string, unknown>;
  for (const key of Object.keys(e)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') throw bad(file, `${where}: unknown field '${key}'`);
  }
  const dtype = e.dtype;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) {
    throw bad(file, `${where}: dtype ${JSON.stringify(dtype)} is not one of ${Object.keys(DTYPE_SIZES).join(', ')}`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every(isIndex)) throw bad(file, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !isIndex(offs[0]) || !isIndex(offs[1])) {
    throw bad(file, `${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
  }
  const [b, en] = offs as [number, number];
  if (b > en) throw bad(file, `${where}: data_offsets begin ${b} is after end ${en}`);
  if (en > dataSize) throw bad(file, `${where}: data_offsets end ${en} is past the ${dataSize}-byte data section`);
  // BigInt: a hostile shape may overflow doubles.
  let elems = 1n;
  for (const d of shape as number[]) elems *= BigInt(d);
  const need = elems * BigInt(DTYPE_SIZES[dtype as SafetensorsDtype]);
  if (need !== BigInt(en - b)) throw bad(file, `${where}: shape ${JSON.stringify(shape)} x ${dtype} needs ${need} bytes but data_offsets span ${en - b}`);
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + b, end: dataStart + en };
}

// Tensors must tile the data section exactly, as the reference implementation requires.
function checkLayout(file: string, entries: TensorEntry[], dataStart: number, dataSize: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  for (const e of sorted) {
    if (e.begin < cursor) throw bad(file, `tensor '${e.name}': bytes [${e.begin - dataStart}, ${e.end - dataStart}) overlap the previous tensor`);
    if (e.begin > cursor) throw bad(file, `tensor '${e.name}': ${e.begin - cursor} unused bytes before it in the data section`);
    cursor = e.end;
  }
  if (cursor !== dataStart + dataSize) throw bad(file, `${dataStart + dataSize - cursor} trailing bytes after the last tensor`);
}

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/**
 * Reads one tensor into a typed array of its stored type (F16/BF16 as raw Uint16Array). For small
 * tensors (fixtures, metadata); model weights go through the native reader.
 */
export function readTensorData(header: SafetensorsHeader, name: string): { entry: TensorEntry; data: TensorData } {
  const entry = header.tensors.get(name);
  if (!entry) throw bad(header.file, `no tensor '${name}'`);
  const fd = openSync(header.file, 'r');
  try {
    const buf = readExactly(fd, entry.end - entry.begin, entry.begin, header.file);
    const ab = new Uint8Array(buf).buffer; // a fresh, aligned copy
    const ctor = { F32: Float32Array, F64: Float64Array, I32: Int32Array, I64: BigInt64Array, U8: Uint8Array, BOOL: Uint8Array, F16: Uint16Array, BF16: Uint16Array }[entry.dtype];
    return { entry, data: new ctor(ab) };
  } finally {
    closeSync(fd);
  }
}

/** Reads a floating tensor as a Float64Array (tests compare against float64 references). */
export function readFloat64(header: SafetensorsHeader, name: string): Float64Array {
  const { entry, data } = readTensorData(header, name);
  if (data instanceof BigInt64Array) return Float64Array.from(data, (v) => Number(v));
  if (entry.dtype === 'BF16') return Float64Array.from(data as Uint16Array, (v) => new Float32Array(new Uint32Array([v << 16]).buffer)[0]!);
  if (entry.dtype === 'F16') throw bad(header.file, `tensor '${name}': F16 to float64 is not supported here`);
  return Float64Array.from(data as ArrayLike<number>);
}
