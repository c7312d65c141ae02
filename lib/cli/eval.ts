import { ADVGLUE_TASKS, type AdvGlueTask, readAdvGlue } from '../data/advglue.js';
import { GLUE_TASKS } from '../data/glue.js';
import { AdvtrainError } from '../errors.js';
import { loadModel } from '../model/model.js';
import { QA_DEFAULTS } from '../tasks/qa.js';
import { evaluateModel } from '../train/evaluate.js';
import { type Command, noTokenizerError, type ParsedArgs, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';
import { table } from './progress.js';
import { CLI_TASKS, encodeExamples, evalBatches, maxLengthFlag, taskSpec } from './task-data.js';

export const evaluate: Command = {
  name: 'eval',
  summary: "Evaluate a model folder on a task's data file",
  usage: `advtrain eval --task ${CLI_TASKS.join('|')} --model DIR --data FILE [--json]\n       advtrain eval --advglue FILE --task ${Object.keys(ADVGLUE_TASKS).join('|')} --model DIR [--json]`,
  options: {
    advglue: { type: 'string', help: 'an AdvGLUE-format JSON file (keyed by task): accuracy on the --task items' },
    task: { type: 'string', help: `task preset: ${CLI_TASKS.join(', ')}` },
    model: { type: 'string', help: 'model folder (with its tokenizer)' },
    data: { type: 'string', help: 'labeled data file' },
    columns: { type: 'string', help: 'table task: text=NAME[,pair=NAME][,label=NAME]' },
    labels: { type: 'string', help: 'table task: class names in id order' },
    regression: { type: 'boolean', help: 'table task: numeric labels' },
    fields: { type: 'string', help: 'choice task: context=NAME,endings=NAME[,label=NAME][,prefix=NAME] (endings=A+B+... for one field per choice)' },
    'batch-size': { type: 'string', help: 'examples per forward pass', default: '64' },
    'max-length': { type: 'string', help: 'tokens per example (default: 128; squad: 384, per window)' },
    'doc-stride': { type: 'string', help: 'squad: context tokens a window shares with the previous one', default: String(QA_DEFAULTS.docStride) },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
    json: { type: 'boolean', help: 'print one JSON object with the metrics' },
  },
  async run(args) {
    if (typeof args.advglue === 'string') return advGlue(args);
    const spec = taskSpec(args);
    if (typeof args.model !== 'string') throw new UsageError('--model DIR is required');
    if (typeof args.data !== 'string') throw new UsageError('--data FILE or --advglue FILE is required');
    const model = await loadModel(args.model, { task: spec.modelTask, device: typeof args.device === 'string' ? args.device : 'cpu' });
    try {
      if (!model.tokenizer) throw noTokenizerError(args.model);
      const data = await spec.load(args.data, model.tokenizer, {
        maxLength: maxLengthFlag(args, spec.maxLength, model),
        docStride: numberFlag(args, 'doc-stride', QA_DEFAULTS.docStride, { int: true, min: 0 }),
        labels: model.config.id2label,
      });
      const metrics = await data.evaluator(numberFlag(args, 'batch-size', 64, { int: true, min: 1 }))(model);
      if (args.json) console.log(JSON.stringify({ task: spec.name, ...metrics }));
      else console.log(table(Object.entries(metrics).map(([k, v]) => [k, Number.isInteger(v) ? String(v) : v.toFixed(4)])));
      return 0;
    } finally {
      model.dispose();
    }
  },
};

/** AdvGLUE (Wang et al., 2021): plain accuracy of a GLUE-fine-tuned model on the adversarial items of one task. */
async function advGlue(args: ParsedArgs): Promise<number> {
  const task = args.task as AdvGlueTask;
  if (typeof task !== 'string' || !Object.hasOwn(ADVGLUE_TASKS, task)) throw new UsageError(`with --advglue, --task must be one of ${Object.keys(ADVGLUE_TASKS).join(', ')}`);
  if (typeof args.model !== 'string') throw new UsageError('--model DIR is required');
  const file = args.advglue as string;
  const items = (await readAdvGlue(file))[task];
  if (!items?.length) throw new AdvtrainError(`${file}: no items for task ${task}`, 'ERR_DATA');
  const preset = GLUE_TASKS[ADVGLUE_TASKS[task].glue];
  const model = await loadModel(args.model, { task: 'sequence-classification', device: typeof args.device === 'string' ? args.device : 'cpu' });
  try {
    if (!model.tokenizer) throw noTokenizerError(args.model);
    if (model.config.numLabels !== preset.numLabels) throw new UsageError(`${args.model} has ${model.config.numLabels} labels; ${task} needs ${preset.numLabels} (${preset.labelNames.join(', ')})`);
    const encoded = encodeExamples(model.tokenizer, items, maxLengthFlag(args, 128, model));
    const batches = evalBatches(encoded, model.tokenizer.special.pad.id, 'sequence-classification', numberFlag(args, 'batch-size', 64, { int: true, min: 1 }));
    const { accuracy } = await evaluateModel(model, batches);
    const result = { task, accuracy: accuracy!, n: items.length };
    if (args.json) console.log(JSON.stringify(result));
    else console.log(table([['task', task], ['accuracy', accuracy!.toFixed(4)], ['n', String(items.length)]]));
    return 0;
  } finally {
    model.dispose();
  }
}
