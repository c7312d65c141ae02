/**
 * The launcher with small Node worker scripts. Workers hand-shake through "ready" lines and files
 * instead of sleeping, so the tests hold on a loaded machine.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { main } from '../../lib/cli/main.js';
import { launchEnv } from '../../lib/distributed/env.js';
import { LinePrefixer, launch, workerCommand } from '../../lib/distributed/launch.js';

/** A Writable that keeps what it got and can wait for a pattern in it. */
function sink() {
  let text = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      for (const w of waiters.filter((x) => x.re.test(text))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      cb();
    },
  });
  return {
    stream,
    get text() {
      return text;
    },
    waitFor: (re: RegExp) => (re.test(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve }))),
  };
}

/** Generous for a loaded 2-core machine; a hung launcher fails the test instead of stalling the run. */
const SLOW = { timeout: 60_000 };

function script(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  // The watchdog bounds a worker's life, so a launcher bug fails the test instead of leaving processes behind.
  writeFileSync(file, `import { existsSync, writeFileSync } from 'node:fs';\nsetTimeout(() => process.exit(99), 30_000).unref();\nconst rank = Number(process.env.RANK);\nconst world = Number(process.env.WORLD_SIZE);\n${body}\n`);
  return file;
}

t.test('each worker gets its rank, the same free port, and its lines prefixed', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(
    dir,
    'env.mjs',
    `const keys = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'];
console.log(JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]]))));
console.error('to stderr from ' + rank);
process.stdout.write('first\\r\\nsecond\\npartial ' + rank);`,
  );
  const out = sink();
  const err = sink();
  const code = await launch({ nproc: 3, command: [worker], stdout: out.stream, stderr: err.stream, env: { ...process.env, FROM_PARENT: 'x' } });
  t.equal(code, 0);
  const lines = out.text.split('\n').filter(Boolean);
  t.equal(lines.length, 12, 'four lines per worker, the partial one flushed with a newline');
  for (const line of lines) t.match(line, /^\[rank [0-2]\] /, 'every line prefixed');
  const envs = lines.filter((l) => l.includes('{')).map((l) => ({ prefix: Number(/^\[rank (\d)\]/.exec(l)![1]), env: JSON.parse(l.slice(l.indexOf('{'))) as Record<string, string> }));
  t.equal(envs.length, 3);
  const ports = new Set(envs.map((e) => e.env.MASTER_PORT));
  t.equal(ports.size, 1, 'one port for all workers');
  for (const { prefix, env } of envs) {
    t.same(launchEnv(env), { rank: prefix, worldSize: 3, localRank: prefix, localWorldSize: 3, masterAddr: '127.0.0.1', masterPort: Number([...ports][0]), source: 'torchrun' }, `rank ${prefix}'s environment as launchEnv reads it`);
  }
  for (const r of [0, 1, 2]) {
    t.ok(lines.includes(`[rank ${r}] first\r`) && lines.includes(`[rank ${r}] second`) && lines.includes(`[rank ${r}] partial ${r}`), `rank ${r}: whole lines`);
    t.match(err.text, `[rank ${r}] to stderr from ${r}\n`);
  }
});

t.test('a failing worker: launch exits with its code, prints its last stderr lines, SIGTERMs the others', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(
    dir,
    'fail.mjs',
    `const dir = process.argv[2];
if (rank === 1) {
  const others = [...Array(world).keys()].filter((r) => r !== 1);
  const poll = setInterval(() => {
    if (!others.every((r) => existsSync(dir + '/ready-' + r))) return;
    clearInterval(poll);
    for (let i = 0; i < 25; i++) console.error('rank 1 line ' + i);
    process.stderr.write('no newline at the end');
    process.exitCode = 3;
  }, 20);
} else {
  process.on('SIGTERM', () => { writeFileSync(dir + '/term-' + rank, ''); process.exit(143); });
  writeFileSync(dir + '/ready-' + rank, '');
  setInterval(() => {}, 1000);
}`,
  );
  const out = sink();
  const err = sink();
  const code = await launch({ nproc: 3, command: [worker, dir], stdout: out.stream, stderr: err.stream });
  t.equal(code, 3);
  t.ok(existsSync(join(dir, 'term-0')) && existsSync(join(dir, 'term-2')), 'ranks 0 and 2 got SIGTERM');
  const report = err.text.slice(err.text.indexOf('advtrain launch: rank 1 exited with code 3\n'));
  t.not(report, '', 'the failing rank is named with its code');
  t.match(report, /last 20 stderr line\(s\) of rank 1:\n {2}rank 1 line 6\n[^]* {2}rank 1 line 24\n {2}no newline at the end\n/);
  t.notMatch(report, /line 5\n/, 'only the last 20 lines');
  t.match(report, /stopping ranks 0, 2 \(SIGTERM; SIGKILL after 30000 ms\)/);
  t.notMatch(err.text, /rank [02] exited/, 'only the first failure is reported');
});

t.test('SIGINT to the launcher is forwarded once to each worker; launch resolves 130', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(
    dir,
    'int.mjs',
    `let n = 0;
process.on('SIGINT', () => { n++; setTimeout(() => { writeFileSync(process.argv[2] + '/int-' + rank, String(n)); process.exit(130); }, 200); });
console.log('ready');
setInterval(() => {}, 1000);`,
  );
  const out = sink();
  const err = sink();
  const before = process.listenerCount('SIGINT');
  const done = launch({ nproc: 2, command: [worker, dir], stdout: out.stream, stderr: err.stream });
  await Promise.all([out.waitFor(/\[rank 0\] ready/), out.waitFor(/\[rank 1\] ready/)]);
  process.kill(process.pid, 'SIGINT');
  t.equal(await done, 130);
  for (const r of [0, 1]) t.equal(readFileSync(join(dir, `int-${r}`), 'utf8'), '1', `rank ${r} got SIGINT once`);
  t.match(err.text, /advtrain launch: SIGINT: forwarded to 2 rank\(s\)/);
  t.equal(process.listenerCount('SIGINT'), before, 'the handler is gone after launch');
});

t.test('a second SIGINT kills the workers at once', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(dir, 'deaf.mjs', `process.on('SIGINT', () => console.log('ignoring SIGINT'));\nconsole.log('ready');\nsetInterval(() => {}, 1000);`);
  const out = sink();
  const err = sink();
  const done = launch({ nproc: 2, command: [worker], stdout: out.stream, stderr: err.stream });
  await Promise.all([out.waitFor(/\[rank 0\] ready/), out.waitFor(/\[rank 1\] ready/)]);
  process.kill(process.pid, 'SIGINT');
  await Promise.all([out.waitFor(/\[rank 0\] ignoring SIGINT/), out.waitFor(/\[rank 1\] ignoring SIGINT/)]);
  process.kill(process.pid, 'SIGINT');
  t.equal(await done, 130);
  t.match(err.text, /SIGINT again: killing the ranks \(SIGKILL\)/);
  t.notMatch(err.text, /exited with code|was killed by/, 'workers killed on request are no failure');
});

t.test('--grace-ms: a worker that ignores SIGTERM is killed', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(
    dir,
    'stubborn.mjs',
    `if (rank === 0) {
  process.on('SIGTERM', () => {});
  writeFileSync(process.argv[2] + '/ready-0', '');
  setInterval(() => {}, 1000);
} else {
  const poll = setInterval(() => { if (existsSync(process.argv[2] + '/ready-0')) { clearInterval(poll); process.exitCode = 1; } }, 20);
}`,
  );
  const err = sink();
  const start = Date.now();
  const code = await launch({ nproc: 2, graceMs: 300, command: [worker, dir], stdout: sink().stream, stderr: err.stream });
  t.equal(code, 1, "the failing rank's code, not the killed one's");
  t.match(err.text, /rank 0 still running after 300 ms: SIGKILL/);
  t.ok(Date.now() - start < 15_000, 'did not wait for a default grace');
});

t.test('a command that cannot start: 127', SLOW, async (t) => {
  const err = sink();
  t.equal(await launch({ nproc: 2, command: [join(t.testdir(), 'no-such-command')], stdout: sink().stream, stderr: err.stream }), 127);
  t.match(err.text, /rank [01] could not start '.*no-such-command': spawn .* ENOENT\n$/);
});

t.test('options are validated', async (t) => {
  await t.rejects(launch({ nproc: 0, command: ['x'] }), { code: 'ERR_INVALID_ARG', message: /options\.nproc/ });
  await t.rejects(launch({ nproc: 1, command: [] }), { message: /options\.command/ });
  await t.rejects(launch({ nproc: 1, nnodes: 2, nodeRank: 2, command: ['x'] }), { message: /options\.nodeRank/ });
  await t.rejects(launch({ nproc: 1, nnodes: 2, command: ['x'] }), { message: /options\.masterAddr \(required|required when nnodes=2 > 1\) for options\.masterAddr/ });
  await t.rejects(launch({ nproc: 1, masterPort: 70000, command: ['x'] }), { message: /options\.masterPort/ });
});

t.test('the worker command: node scripts on this Node, other commands as given', async (t) => {
  t.same(workerCommand(['w.mjs', '--a']), [process.execPath, 'w.mjs', '--a']);
  t.same(workerCommand(['w.cjs']), [process.execPath, 'w.cjs']);
  t.same(workerCommand(['python3', 'x.py']), ['python3', 'x.py']);
  // Loaded from its TypeScript sources (as here), `advtrain` is those sources on this process's loader.
  t.same(workerCommand(['advtrain', 'train', '--epochs', '1']), [process.execPath, ...process.execArgv, fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url)), 'train', '--epochs', '1']);
});

t.test('LinePrefixer: whole lines, \\r as a line end, a bounded stderr tail', async (t) => {
  const writes: string[] = [];
  const p = new LinePrefixer('[r] ', (s) => writes.push(s), true);
  p.push('a\nb');
  p.push('c\r');
  t.same(writes, ['[r] a\n', '[r] bc\r'], "a line ending in '\\r' goes out at once");
  p.push('\nx 10%\rx 20%\r');
  p.push('x 30%\ny');
  p.end();
  t.equal(writes.join(''), '[r] a\n[r] bc\r\n[r] x 10%\r[r] x 20%\r[r] x 30%\n[r] y\n');
  t.same(p.tail, ['a', 'bc', 'x 30%', 'y'], 'progress lines replace each other in the tail');
  for (let i = 0; i < 30; i++) p.push(`l${i}\n`);
  t.equal(p.tail.length, 20);
  t.equal(p.tail[19], 'l29');
});

t.test('advtrain launch: usage errors exit 2; everything after -- reaches the worker untouched', SLOW, async (t) => {
  const dir = t.testdir();
  const worker = script(dir, 'argv.mjs', `writeFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)));`);
  const argvFile = join(dir, 'argv.json');
  const quiet = t.capture(console, 'error');
  t.equal(await main(['launch', '--', worker]), 2, '--nproc required');
  t.equal(await main(['launch', '--nproc', '2']), 2, 'a command required');
  t.equal(await main(['launch', '--nproc', '0', '--', worker]), 2);
  t.equal(await main(['launch', '--nproc', '1', worker]), 2, 'the command must follow --');
  t.equal(await main(['launch', '--nproc', '1', '--nnodes', '2', '--', worker]), 2, 'multi-node needs the master');
  t.equal(await main(['launch', '--nproc', '1', '--nnodes', '2', '--node-rank', '2', '--master-addr', 'h', '--master-port', '1', '--', worker]), 2);
  t.equal(await main(['launch', '--nproc', '1', '--master-port', '65536', '--', worker]), 2);
  const messages = quiet().map((c) => String(c.args[0]));
  t.match(messages[0], /--nproc N is required/);
  t.match(messages[1], /a worker command after -- is required/);
  t.match(messages[3], /unexpected argument .*the command to run goes after --/);
  t.match(messages[4], /--master-addr and --master-port are required with --nnodes 2/);
  t.match(messages[5], /--node-rank must be below --nnodes \(2\)/);
  t.equal(await main(['launch', '--nproc', '1', '--', worker, argvFile, 'train', '--nproc', '5', '--help', '--', '--epochs', '1']), 0);
  t.same(JSON.parse(readFileSync(argvFile, 'utf8')), ['train', '--nproc', '5', '--help', '--', '--epochs', '1']);
});
