import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AdvtrainError } from '../../lib/errors.js';
import { createModel, loadModel } from '../../lib/model/model.js';
import { rng, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

// End to end through the native reader: damaged model folders fail with ERR_CHECKPOINT, never a crash.
t.test('loadModel on 400 damaged checkpoints', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await createModel(tinyConfig('bert', { num_hidden_layers: 1 }), { task: 'sequence-classification' });
  await model.save(dir);
  model.dispose();
  // Without its manifest: the manifest check would refuse every case before the native reader sees it.
  rmSync(join(dir, 'advtrain-manifest.json'));
  const file = join(dir, 'model.safetensors');
  const good = readFileSync(file);
  const n = Number(good.readBigUInt64LE(0));
  const r = rng(7);
  let loaded = 0;
  for (let i = 0; i < 400; i++) {
    const c = Buffer.from(good);
    const kind = i % 4;
    let bytes: Buffer = c;
    if (kind === 0) bytes = c.subarray(0, Math.floor(r() * c.length));
    else if (kind === 1) c.writeBigUInt64LE(BigInt(Math.floor(r() * c.length * 1.5)));
    else if (kind === 2) for (let k = 0; k < 3; k++) c[8 + Math.floor(r() * n)] = 32 + Math.floor(r() * 90);
    else {
      // Same layout, different declared dtype/shape: the loader must catch the parameter mismatch.
      const header = JSON.parse(c.subarray(8, 8 + n).toString('utf8'));
      const keys = Object.keys(header).filter((k) => k !== '__metadata__');
      const e = header[keys[Math.floor(r() * keys.length)]!];
      if (r() < 0.5) e.dtype = e.dtype === 'F32' ? 'I32' : 'F32';
      else e.shape = [e.shape.reduce((a: number, b: number) => a * b, 1)];
      const hb = Buffer.from(JSON.stringify(header).padEnd(n, ' '));
      bytes = Buffer.concat([c.subarray(0, 8), hb, c.subarray(8 + n)]);
    }
    writeFileSync(file, bytes);
    try {
      const m = await loadModel(dir);
      loaded++;
      m.dispose();
    } catch (err) {
      if (!(err instanceof AdvtrainError) || err.code !== 'ERR_CHECKPOINT') {
        t.fail(`case ${i} (kind ${kind}): ${String(err)}`);
        return;
      }
    }
  }
  t.pass(`400 cases, ${loaded} loaded (harmless changes), the rest rejected with ERR_CHECKPOINT`);
});
