import { AdvtrainError, invalidArg } from './errors.js';
import { info } from './info.js';

/** A device name: `'cpu'`, `'cuda'` (device 0) or `'cuda:N'`. */
export type DeviceName = 'cpu' | 'cuda' | `cuda:${number}`;

/** Checks a device name against what this build and machine have; returns it normalised. */
export function resolveDevice(name: string, value: unknown): DeviceName {
  if (value === undefined) return 'cpu';
  if (typeof value !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(value)) throw invalidArg(name, "'cpu', 'cuda' or 'cuda:N'", value);
  if (value === 'cpu') return 'cpu';
  const i = info();
  if (!i.cuda) {
    const why = i.cudaCompiled ? 'no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)' : `this build of advtrain has no CUDA (libtorch ${i.torchVersion} without CUDA, or ADVTRAIN_CUDA=0)`;
    throw new AdvtrainError(`${name} is '${value}' but ${why}; use 'cpu'`, 'ERR_CUDA_UNAVAILABLE');
  }
  const index = value === 'cuda' ? 0 : Number(value.slice(5));
  if (index >= i.cudaDeviceCount) throw invalidArg(name, `a CUDA device index below ${i.cudaDeviceCount}`, value);
  return `cuda:${index}`;
}

/** Refuses precision 'bf16' on the CPU where this build or processor cannot run it (info().cpuBf16Reason says why). */
export function checkBf16Device(name: string, device: DeviceName): void {
  if (device !== 'cpu') return;
  const i = info();
  if (!i.cpuBf16) throw invalidArg(name, `'fp32' on the CPU (${i.cpuBf16Reason})`, 'bf16');
}
