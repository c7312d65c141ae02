/**
 * Where a step's time goes, advtrain beside transformers (issue #18's breakdown): `--steps` profiled
 * optimizer steps of each method on each side after warm-up (per operator, the median over them), same work as `npm run bench` (bench/trial.ts and
 * bench/peers/loops.py: padded batch, random starts). advtrain's trace comes from the addon's Kineto
 * hook (ADVTRAIN_PROFILE_DIR, libtorch >= 2), transformers' from torch.profiler; both are Chrome traces
 * of the CPU operators, read the same way here: each operator's self time (its span less its children's),
 * summed by operator and by category. Prints a markdown table per method and JSON lines to --out.
 *
 *   ADVTRAIN_ADDON=build-torch213/Release/advtrain.node node dist/bench/profile.js --methods vanilla,freelb
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const venvPython = join(root, '.venv', 'bin', 'python');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mini' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '64' },
    precision: { type: 'string', default: 'fp32' },
    methods: { type: 'string', default: 'vanilla,freelb,pgd,creat,smart' },
    threads: { type: 'string' },
    top: { type: 'string', default: '12' },
    steps: { type: 'string', default: '3' },
    python: { type: 'string', default: process.env.ADVTRAIN_PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3') },
    dir: { type: 'string', default: join(root, 'bench', 'out', 'profile') },
    out: { type: 'string', default: join(root, 'bench', 'out', 'profile.jsonl') },
  },
});

interface TraceEvent {
  ph?: string;
  cat?: string;
  name: string;
  ts: number;
  dur?: number;
  tid: number | string;
}

/** Self milliseconds per operator name, and the span of the step, from a Chrome trace of CPU operators. */
export function selfTimes(trace: { traceEvents: TraceEvent[] }): { ops: Map<string, number>; spanMs: number; opMs: number } {
  const events = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'cpu_op' && e.dur !== undefined);
  const ops = new Map<string, number>();
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) byThread.set(String(e.tid), [...(byThread.get(String(e.tid)) ?? []), e]);
  let lo = Infinity;
  let hi = -Infinity;
  let opMs = 0;
  for (const list of byThread.values()) {
    // Longer first at equal starts, so a parent precedes the children that start with it.
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    const stack: { e: TraceEvent; children: number }[] = [];
    const close = (until: number) => {
      while (stack.length && stack.at(-1)!.e.ts + stack.at(-1)!.e.dur! <= until) {
        const { e, children } = stack.pop()!;
        const self = Math.max(0, e.dur! - children) / 1000;
        ops.set(e.name, (ops.get(e.name) ?? 0) + self);
        opMs += self;
        if (stack.length) stack.at(-1)!.children += e.dur!;
      }
    };
    for (const e of list) {
      close(e.ts);
      stack.push({ e, children: 0 });
      lo = Math.min(lo, e.ts);
      hi = Math.max(hi, e.ts + e.dur!);
    }
    close(Infinity);
  }
  return { ops, spanMs: (hi - lo) / 1000, opMs };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** Per operator, span and total: the median over several profiled steps (this machine's steps vary). */
export function medianOf(runs: ReturnType<typeof selfTimes>[]): ReturnType<typeof selfTimes> {
  const names = new Set(runs.flatMap((r) => [...r.ops.keys()]));
  const ops = new Map([...names].map((op) => [op, median(runs.map((r) => r.ops.get(op) ?? 0))]));
  return { ops, spanMs: median(runs.map((r) => r.spanMs)), opMs: median(runs.map((r) => r.opMs)) };
}

const CATEGORIES: [string, RegExp][] = [
  ['autograd engine', /^autograd::engine::evaluate_function/],
  ['GEMM', /^aten::(addmm|mm|bmm|baddbmm|matmul|linear|_addmm_activation)$/],
  ['attention (softmax, SDPA)', /softmax(?!_backward_data_?$)|scaled_dot_product|_softmax_backward_data/],
  ['dropout', /bernoulli|dropout/],
  ['GELU', /gelu/],
  ['LayerNorm', /layer_norm/],
  ['embedding', /embedding|index_select|index_add|index_put|scatter|gather/],
  ['optimizer + clipping', /_fused_adam|_foreach_|adamw|lerp|addcmul|addcdiv/],
  ['copies and casts', /copy_|_to_copy|^aten::to$|clone|contiguous|_reshape_alias|reshape|view|transpose|permute|expand|unsqueeze|squeeze|flatten|^aten::t$|as_strided|select|slice/],
  ['allocation and fill', /empty|zeros|ones|fill_|zero_|full/],
  ['loss and ascent math', /cross_entropy|nll_loss|log_softmax|kl_div|cosine|norm|amax|clamp|where|sign|abs|sqrt|div|sum|mean|exp|log/],
  ['elementwise (add, mul)', /^aten::(add|add_|mul|mul_|sub|rsub|neg)$/],
];

function category(op: string): string {
  for (const [name, re] of CATEGORIES) if (re.test(op)) return name;
  return 'other';
}

function byCategory(ops: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [op, ms] of ops) out.set(category(op), (out.get(category(op)) ?? 0) + ms);
  return out;
}

const fmt = (x: number) => x.toFixed(1);

function table(method: string, a: ReturnType<typeof selfTimes>, p: ReturnType<typeof selfTimes>): string {
  const ca = byCategory(a.ops);
  const cp = byCategory(p.ops);
  const names = [...new Set([...ca.keys(), ...cp.keys()])].sort((x, y) => (cp.get(y) ?? 0) + (ca.get(y) ?? 0) - (cp.get(x) ?? 0) - (ca.get(x) ?? 0));
  const lines = [`### ${method}: ms per step (operators' self time)`, '', '| category | advtrain | transformers | difference |', '|---|---:|---:|---:|'];
  for (const n of names) lines.push(`| ${n} | ${fmt(ca.get(n) ?? 0)} | ${fmt(cp.get(n) ?? 0)} | ${fmt((ca.get(n) ?? 0) - (cp.get(n) ?? 0))} |`);
  lines.push(`| all operators | ${fmt(a.opMs)} | ${fmt(p.opMs)} | ${fmt(a.opMs - p.opMs)} |`);
  lines.push(`| step span (first op to last) | ${fmt(a.spanMs)} | ${fmt(p.spanMs)} | ${fmt(a.spanMs - p.spanMs)} |`);
  const ops = [...new Set([...a.ops.keys(), ...p.ops.keys()])]
    .map((op) => ({ op, a: a.ops.get(op) ?? 0, p: p.ops.get(op) ?? 0 }))
    .sort((x, y) => Math.abs(y.a - y.p) - Math.abs(x.a - x.p))
    .slice(0, Number(values.top));
  lines.push('', '| operator (largest differences) | advtrain | transformers |', '|---|---:|---:|');
  for (const o of ops) lines.push(`| ${o.op} | ${fmt(o.a)} | ${fmt(o.p)} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(values.out!), { recursive: true });
  const common = ['--model', values.model!, '--batch', values.batch!, '--seq', values.seq!, '--device', 'cpu', '--precision', values.precision!, '--warmup', '2'];
  const threads = values.threads !== undefined ? ['--threads', values.threads] : [];
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1', ...(values.threads !== undefined ? { ADVTRAIN_NUM_THREADS: values.threads } : {}) };
  for (const method of values.methods!.split(',')) {
    const dir = join(values.dir!, method);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t = spawnSync(process.execPath, [join(here, 'trial.js'), '--method', method, ...common, '--steps', values.steps!], { env: { ...env, ADVTRAIN_PROFILE_DIR: dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    // The Python loop times one step, then profiles as many as advtrain's timed ones.
    const p = spawnSync(values.python!, [join(root, 'bench', 'peers', 'loops.py'), '--methods', method, '--attn', 'sdpa', '--profile', dir, '--profile-steps', values.steps!, ...common, '--steps', '1', ...threads], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (t.status !== 0 || p.status !== 0) throw new Error(`profiling ${method} failed (advtrain exit ${t.status}, python exit ${p.status})`);
    // advtrain profiles every step: the last `steps` are the ones after warm-up.
    const n = Number(values.steps);
    const steps = readdirSync(dir).filter((f) => f.startsWith('advtrain-step-')).sort((x, y) => parseInt(x.slice(14)) - parseInt(y.slice(14)));
    const a = medianOf(steps.slice(-n).map((f) => selfTimes(JSON.parse(readFileSync(join(dir, f), 'utf8')))));
    const py = medianOf(Array.from({ length: n }, (_, k) => selfTimes(JSON.parse(readFileSync(join(dir, `python-${method}-${k}.json`), 'utf8')))));
    console.log(`${table(method, a, py)}\n`);
    appendFileSync(values.out!, `${JSON.stringify({ kind: 'profile', method, model: values.model, batch: Number(values.batch), seq: Number(values.seq), precision: values.precision, advtrain: { spanMs: +fmt(a.spanMs), opMs: +fmt(a.opMs), categories: Object.fromEntries([...byCategory(a.ops)].map(([k, v]) => [k, +fmt(v)])) }, transformers: { spanMs: +fmt(py.spanMs), opMs: +fmt(py.opMs), categories: Object.fromEntries([...byCategory(py.ops)].map(([k, v]) => [k, +fmt(v)])) } })}\n`);
  }
}
