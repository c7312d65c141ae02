import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AdvtrainError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureWritableDir } from '../io/output-dir.js';
import { type LoggedRun, readMetricsLog, renderSvg, similarityLossSpec } from '../robustness/figures.js';
import { type RobustnessReport, writeRobustnessReport } from '../robustness/report.js';
import { type Command, UsageError } from './command.js';

export const figures: Command = {
  name: 'figures',
  summary: "Draw CreAT's similarity vs training-loss view from training logs, or redraw a robustness report's figures",
  usage: 'advtrain figures (--logs A/metrics.jsonl,B/metrics.jsonl [--labels A,B] | --report DIR/report.json) --out DIR',
  options: {
    logs: { type: 'string', help: 'metrics.jsonl files written by advtrain train, comma-separated' },
    labels: { type: 'string', help: "a name per log (default: each log's folder name)" },
    report: { type: 'string', help: 'a report.json written by advtrain robustness: redraw its figures' },
    out: { type: 'string', help: 'folder for the SVG files' },
  },
  async run(args) {
    if (typeof args.out !== 'string') throw new UsageError('--out is required');
    if (typeof args.logs !== 'string' && typeof args.report !== 'string') throw new UsageError('give --logs FILES or --report FILE');
    const out = args.out;
    ensureWritableDir(out);
    if (typeof args.logs === 'string') {
      const files = args.logs.split(',').filter(Boolean);
      const labels = typeof args.labels === 'string' ? args.labels.split(',') : files.map((f) => basename(dirname(f)) || basename(f));
      if (labels.length !== files.length) throw new UsageError(`--labels names ${labels.length} runs but --logs has ${files.length}`);
      const runs: LoggedRun[] = [];
      for (const [i, file] of files.entries()) {
        const steps = await readMetricsLog(file);
        if (!steps.some((s) => s.repCos !== undefined)) console.error(`advtrain figures: ${file} has no repCos (only creat logs it): left out`);
        runs.push({ label: labels[i]!, steps });
      }
      const file = join(out, 'similarity-loss.svg');
      await writeFileAtomic(file, await renderSvg(similarityLossSpec(runs)));
      console.log(file);
    }
    if (typeof args.report === 'string') {
      let report: RobustnessReport;
      try {
        report = JSON.parse(readFileSync(args.report, 'utf8')) as RobustnessReport;
      } catch (err) {
        throw new AdvtrainError(`${args.report}: cannot read the report: ${(err as Error).message}`, 'ERR_DATA');
      }
      for (const name of await writeRobustnessReport(report, out)) console.log(join(out, name));
    }
    return 0;
  },
};
