/** Builds safetensors bytes for tests (valid files to mutate). */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function buildSafetensors(tensors: RawTensor[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  h = Buffer.concat([h, Buffer.alloc((8 - ((h.length + 8) % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...tensors.map((t) => Buffer.from(t.data))]);
}

export function f32Tensor(name: string, shape: number[], fill: (i: number) => number): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const arr = Float32Array.from({ length: n }, (_, i) => fill(i));
  return { name, dtype: 'F32', shape, data: new Uint8Array(arr.buffer) };
}
