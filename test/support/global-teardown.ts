import type { EphemeralStack } from '../../stack/ephemeral-stack';

/** Stops what global-setup started. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __AIRLOCK_STACK__?: EphemeralStack }).__AIRLOCK_STACK__?.stop();
}
