/**
 * Test-tier helpers. Native tests skip with a reason when the addon is missing, except under
 * ADVTRAIN_REQUIRE_NATIVE=1 (CI), where a missing addon must fail loudly instead of skipping.
 */
import { hasNative, native } from '../../lib/binding.js';

export function nativeSkipReason(): string | false {
  if (hasNative()) return false;
  if (process.env.ADVTRAIN_REQUIRE_NATIVE === '1') {
    native(); // throws ERR_ADDON_MISSING with the reason
  }
  return 'native addon not built (npm run build:native)';
}

export function cudaSkipReason(): string | false {
  const why = nativeSkipReason();
  if (why) return why;
  const n = native().info();
  if (!n.cudaCompiled) return 'this build has no CUDA (libtorch without CUDA)';
  if (!n.cuda) return 'no CUDA device visible';
  return false;
}
