/**
 * The published .d.ts (tsconfig.build.json) leaves out what is marked @internal: user code typed
 * against it cannot reach the native handle and skip the TypeScript validation.
 */
import { join } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { packageRoot } from '../../lib/paths.js';

t.test('model.d.ts has no _native handle or other @internal members', async (t) => {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(packageRoot, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  t.ok(parsed, 'tsconfig.build.json parses');
  const options = { ...parsed!.options, emitDeclarationOnly: true, declaration: true, sourceMap: false, declarationMap: false, noEmit: false };
  const program = ts.createProgram([join(packageRoot, 'lib/model/model.ts')], options);
  const out = new Map<string, string>();
  program.emit(undefined, (file, text) => out.set(file, text), undefined, true);
  const dts = [...out].find(([file]) => file.endsWith(join('lib', 'model', 'model.d.ts')))?.[1];
  t.ok(dts, 'model.d.ts emitted');
  t.match(dts, /class Model/);
  t.notMatch(dts, /_native/, 'no _native accessor');
  t.notMatch(dts, /_create|_loadWeights|_writeFolder/, 'no other @internal members');
});
