import type { TestServers } from './global-setup';

/** Stops what global-setup started. */
export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __AIRLOCK_SERVERS__?: TestServers }).__AIRLOCK_SERVERS__;
  if (!servers) return;
  await Promise.all([servers.temporal.teardown(), servers.moto.stop()]);
}
