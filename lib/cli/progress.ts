/** Terminal progress (loss, rate, ETA) and the JSONL metrics log of a training run. */
import { appendFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { StepResult, TrainerCallback, TrainerState } from '../train/trainer.js';

export interface ProgressOptions {
  /** JSONL file receiving every log entry and every step's figures. */
  logFile?: string;
  /** Examples per optimizer step (for the rate). */
  examplesPerStep: number;
  /** No output at all (--quiet); without a terminal, a line every 10 s instead of the bar. */
  quiet?: boolean;
  label?: string;
}

/** A callback that draws a progress bar and appends every step and log entry to a JSONL file. */
export function progressCallback(opts: ProgressOptions): TrainerCallback & { stop(): void } {
  const interactive = !opts.quiet && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        {
          format: `${opts.label ?? 'train'} {bar} {value}/{total} | loss {loss} | {rate} ex/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let firstStep = 0;
  let t0 = performance.now();
  let lastPrint = Number.NEGATIVE_INFINITY;
  const write = (entry: Record<string, unknown>) => {
    if (opts.logFile) appendFileSync(opts.logFile, `${JSON.stringify(entry)}\n`);
  };
  return {
    onStepEnd(state: Readonly<TrainerState>, _c, step: StepResult) {
      if (!started) {
        started = true;
        firstStep = state.globalStep;
        t0 = performance.now();
        bar?.start(state.maxSteps, state.globalStep - 1, { loss: '-', rate: '-' });
      }
      const seconds = (performance.now() - t0) / 1000;
      // Steps since the first one this run timed (the first includes warm-up).
      const rate = seconds > 0 ? ((state.globalStep - firstStep) * opts.examplesPerStep) / seconds : 0;
      bar?.update(state.globalStep, { loss: step.loss.toFixed(4), rate: rate.toFixed(1) });
      if (!bar && !opts.quiet && (performance.now() - lastPrint > 10_000 || state.globalStep === state.maxSteps)) {
        lastPrint = performance.now();
        const timed = state.globalStep - firstStep;
        const eta = timed > 0 ? formatSeconds(((state.maxSteps - state.globalStep) * seconds) / timed) : '-';
        process.stderr.write(`${opts.label ?? 'train'} step ${state.globalStep}/${state.maxSteps} loss ${step.loss.toFixed(4)} | ${timed > 0 ? rate.toFixed(1) : '-'} ex/s | ETA ${eta}\n`);
      }
      write({ type: 'step', epoch: state.epoch, ...step });
    },
    onLog(_s, _c, logs) {
      write({ type: 'log', ...logs });
    },
    onEvaluate(state, _c, metrics) {
      write({ type: 'eval', step: state.globalStep, ...metrics });
    },
    onSave(state, _c, dir) {
      write({ type: 'save', step: state.globalStep, dir });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** 95 -> '1m35s', 7300 -> '2h01m'. */
function formatSeconds(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

/** A plain two-column table. */
export function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
