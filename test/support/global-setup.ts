import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../../stack/dev-config';
import { QUIET_BUNDLER_LOGGER, WORKFLOW_BUNDLE_OPTIONS } from '../../workers/workflow-bundle';
import { newCodecKeyFile } from '../../crypto/encryption-codec';
import { startEphemeralStack, type EphemeralStack } from '../../stack/ephemeral-stack';
import { TEST_ENV } from './test-env';

/** Starts a real Temporal dev server and a real moto on free ports, seeds moto, bundles the workflows once. */
export default async function globalSetup(): Promise<void> {
  const stack = await startEphemeralStack();
  (globalThis as { __AIRLOCK_STACK__?: EphemeralStack }).__AIRLOCK_STACK__ = stack;

  const { code } = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: QUIET_BUNDLER_LOGGER });
  const dir = join(REPO_ROOT, '.airlock', 'test');
  mkdirSync(dir, { recursive: true });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);

  process.env[TEST_ENV.temporalAddress] = stack.address;
  process.env[TEST_ENV.namespace] = stack.namespace;
  process.env[TEST_ENV.motoEndpoint] = stack.moto.endpoint;
  process.env[TEST_ENV.crmToken] = stack.crmToken;
  process.env[TEST_ENV.crmReadToken] = stack.crmReadToken;
  process.env[TEST_ENV.stripeUrl] = stack.stripe.url;
  process.env[TEST_ENV.workflowBundle] = bundlePath;
  // Two keys, the newer current: histories are written with k2, and k1 must still decrypt.
  const keys = JSON.parse(newCodecKeyFile('k1'));
  process.env[TEST_ENV.codecKeys] = JSON.stringify({
    current: 'k2',
    keys: { ...keys.keys, ...JSON.parse(newCodecKeyFile('k2')).keys },
  });
}
