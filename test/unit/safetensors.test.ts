import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AdvtrainError } from '../../lib/errors.js';
import { readFloat64, readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { rng } from '../helpers/models.js';
import { buildSafetensors, f32Tensor, type RawTensor } from '../helpers/safetensors.js';

function sample(): RawTensor[] {
  return [
    f32Tensor('a.weight', [3, 4], (i) => i * 0.5),
    { name: 'b.ids', dtype: 'I64', shape: [2], data: new Uint8Array(new BigInt64Array([5n, -7n]).buffer) },
    { name: 'c.half', dtype: 'BF16', shape: [2, 2], data: new Uint8Array(new Uint16Array([0x3f80, 0x4000, 0xbf80, 0]).buffer) },
    { name: 'd.empty', dtype: 'F32', shape: [0, 5], data: new Uint8Array(0) },
    { name: 'e.flag', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
  ];
}

t.test('a valid file is read with every dtype and absolute offsets', async (t) => {
  const file = join(t.testdir(), 'm.safetensors');
  writeFileSync(file, buildSafetensors(sample()));
  const h = readSafetensorsHeader(file);
  t.equal(h.tensors.size, 5);
  t.equal(h.metadata.format, 'pt');
  const a = h.tensors.get('a.weight')!;
  t.equal(a.begin, h.dataStart);
  t.equal(a.end - a.begin, 48);
  t.same(Array.from(readFloat64(h, 'a.weight')).slice(0, 3), [0, 0.5, 1]);
  t.same(Array.from(readFloat64(h, 'b.ids')), [5, -7]);
  t.same(Array.from(readFloat64(h, 'c.half')), [1, 2, -1, 0]);
});

const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
  ['tiny file', () => Buffer.alloc(4), /starts with an 8-byte header length/],
  ['header longer than file', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(BigInt(b.length)); return c; }, /header length \d+ exceeds/],
  ['huge header length', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(2n ** 63n); return c; }, /exceeds/],
  ['truncated data', (b) => b.subarray(0, b.length - 3), /past the \d+-byte data section|trailing bytes|overlap/],
  ['trailing bytes', (b) => Buffer.concat([b, Buffer.from([1, 2, 3])]), /3 trailing bytes after the last tensor/],
];

t.test('each kind of damage is an ERR_CHECKPOINT naming the file', async (t) => {
  const dir = t.testdir();
  const good = buildSafetensors(sample());
  for (const [what, mutate, msg] of cases) {
    const file = join(dir, `${what.replace(/ /g, '-')}.safetensors`);
    writeFileSync(file, mutate(good));
    t.throws(() => readSafetensorsHeader(file), { code: 'ERR_CHECKPOINT', message: msg }, what);
  }
  const withHeader = (obj: unknown) => {
    const h = Buffer.from(JSON.stringify(obj));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    return Buffer.concat([len, h, Buffer.alloc(16)]);
  };
  const bad: [string, unknown, RegExp][] = [
    ['unknown dtype', { x: { dtype: 'F8', shape: [4], data_offsets: [0, 16] } }, /tensor 'x': dtype "F8" is not one of/],
    ['negative shape', { x: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, /tensor 'x': shape must be an array of non-negative integers/],
    ['shape/bytes mismatch', { x: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } }, /tensor 'x': shape \[5\] x F32 needs 20 bytes but data_offsets span 16/],
    ['offsets reversed', { x: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, /begin 16 is after end 0/],
    ['offset outside', { x: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, /end 32 is past the 16-byte data section/],
    ['overlap', { x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, y: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, /overlap/],
    ['hole', { x: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, /8 unused bytes before it/],
    ['shape overflow', { x: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } }, /needs \d+ bytes/],
    ['extra field', { x: { dtype: 'F32', shape: [4], data_offsets: [0, 16], evil: 1 } }, /unknown field 'evil'/],
    ['metadata not strings', { __metadata__: { a: 1 }, x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, /__metadata__\.a must be a string/],
    ['array header', [1, 2], /must be a JSON object/],
  ];
  for (const [what, header, msg] of bad) {
    const file = join(dir, `${what.replace(/[ /]/g, '-')}.safetensors`);
    writeFileSync(file, withHeader(header));
    t.throws(() => readSafetensorsHeader(file), { code: 'ERR_CHECKPOINT', message: msg }, what);
  }
  const notJson = join(dir, 'notjson.safetensors');
  const raw = Buffer.from('{"x": {dtype: F32}}  ');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(raw.length));
  writeFileSync(notJson, Buffer.concat([len, raw]));
  t.throws(() => readSafetensorsHeader(notJson), { code: 'ERR_CHECKPOINT', message: /notjson\.safetensors: header is not valid JSON/ });
});

// Mutations of a valid file: truncation, header length, header bytes, dtype, shape and offsets.
function mutate(good: Buffer, r: () => number): Buffer {
  const n = Number(good.readBigUInt64LE(0));
  const header = JSON.parse(good.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const pick = () => header[names[Math.floor(r() * names.length)]!]!;
  const rebuild = (h: unknown, data = good.subarray(8 + n)) => {
    const hb = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hb.length));
    return Buffer.concat([len, hb, data]);
  };
  const ints = [0, 1, 2, 3, 7, 8, 16, 47, 48, 49, 1e6, -1, 2 ** 31, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER];
  const anInt = () => ints[Math.floor(r() * ints.length)]!;
  switch (Math.floor(r() * 9)) {
    case 0:
      return good.subarray(0, Math.floor(r() * good.length));
    case 1: {
      const c = Buffer.from(good);
      c.writeBigUInt64LE(BigInt(Math.floor(r() * good.length * 2)));
      return c;
    }
    case 2: {
      const c = Buffer.from(good);
      for (let k = 0; k < 1 + r() * 4; k++) c[8 + Math.floor(r() * n)] = Math.floor(r() * 256);
      return c;
    }
    case 3:
      pick().dtype = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'I8', 'F8_E4M3', '', 'f32'][Math.floor(r() * 12)]!;
      return rebuild(header);
    case 4: {
      const t = pick();
      t.shape = t.shape.map(() => anInt());
      if (r() < 0.3) t.shape.push(anInt());
      return rebuild(header);
    }
    case 5: {
      const t = pick();
      t.data_offsets = [anInt(), anInt()];
      return rebuild(header);
    }
    case 6: {
      const t = pick();
      (t as unknown as Record<string, unknown>)[['shape', 'dtype', 'data_offsets'][Math.floor(r() * 3)]!] = [null, 'x', {}, [], 3][Math.floor(r() * 5)];
      return rebuild(header);
    }
    case 7:
      return rebuild(header, good.subarray(8 + n, good.length - Math.floor(r() * 8)));
    default: {
      const c = Buffer.from(good);
      c[Math.floor(r() * c.length)] ^= 1 << Math.floor(r() * 8);
      return c;
    }
  }
}

t.test('fuzz: 10,000 mutated files never crash; every failure is ERR_CHECKPOINT naming the file', async (t) => {
  const file = join(t.testdir(), 'fuzz.safetensors');
  const good = buildSafetensors(sample());
  const r = rng(20261122);
  let failures = 0;
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) {
    const bytes = mutate(good, r);
    writeFileSync(file, bytes);
    try {
      const h = readSafetensorsHeader(file);
      accepted++;
      // Whatever is accepted is safe to read: inside the file and tiling the data section (ordered by
      // (begin, end) as the reference implementation orders them; empty tensors take no bytes).
      let end = h.dataStart;
      for (const e of [...h.tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
        if (e.begin !== end || e.end > bytes.length) throw new Error(`case ${i}: accepted an unsafe layout: ${JSON.stringify([...h.tensors.values()])} in ${bytes.length} bytes`);
        end = e.end;
      }
    } catch (err) {
      if (!(err instanceof AdvtrainError) || err.code !== 'ERR_CHECKPOINT' || !err.message.startsWith(file)) {
        t.fail(`case ${i}: unexpected ${String(err)}`);
        return;
      }
      failures++;
    }
  }
  t.ok(failures > 8000, `${failures} rejected, ${accepted} accepted (harmless mutations)`);
});
