/**
 * Runs the GPU checks of test/gpu/checks.ts without tap (the GPU machine has no dev dependencies):
 * `node dist/bench/gpu-checks.js`. Exit code 1 when a check fails. (The fused kernels have their own
 * runner, bench/kernel-check.ts.)
 */
import { runGpuChecks } from '../test/gpu/checks.js';

const failed = await runGpuChecks();
console.log(failed ? `${failed} GPU check(s) failed` : 'all GPU checks passed');
process.exitCode = failed ? 1 : 0;
