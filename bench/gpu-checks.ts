/**
 * Runs the GPU checks of test/gpu/checks.ts without tap (the GPU machine has no dev dependencies):
 * `node dist/bench/gpu-checks.js [--kernels-only]`. Exit code 1 when a check fails.
 */
import { runGpuChecks } from '../test/gpu/checks.js';

const kernelsOnly = process.argv.includes('--kernels-only');
const failed = await runGpuChecks(kernelsOnly ? (c) => /kernel/i.test(c.name) : undefined);
console.log(failed ? `${failed} GPU check(s) failed` : 'all GPU checks passed');
process.exitCode = failed ? 1 : 0;
