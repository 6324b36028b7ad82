import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { loadDevConfig, REPO_ROOT } from '../../lib/dev-config';
import { freePort } from '../../stack/free-port';
import { seedMoto, startMoto, type Moto } from '../../stack/moto';
import { dynamicConfigArgs } from '../../stack/temporal-dev-server';
import { temporalCliPath } from '../../stack/tools';
import { TEST_ENV } from './test-env';

/** Handed to global-teardown (same process). */
export interface TestServers {
  temporal: TestWorkflowEnvironment;
  moto: Moto;
}

/** Starts a real Temporal dev server and a real moto on free ports, seeds moto, bundles the workflows once. */
export default async function globalSetup(): Promise<void> {
  const cfg = loadDevConfig();
  const [temporal, moto] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        ip: '127.0.0.1',
        namespace: cfg.temporal.namespace,
        searchAttributes: ALL_SEARCH_ATTRIBUTES,
        extraArgs: dynamicConfigArgs(cfg.temporal),
      },
    }),
    freePort().then((port) => startMoto(port)),
  ]);
  (globalThis as { __AIRLOCK_SERVERS__?: TestServers }).__AIRLOCK_SERVERS__ = { temporal, moto };

  const crmToken = `crm-test-${randomBytes(18).toString('base64url')}`;
  await seedMoto(moto.endpoint, cfg.moto, { [cfg.demoCrm.tokenSecret]: crmToken });

  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  const dir = join(REPO_ROOT, '.airlock', 'test');
  mkdirSync(dir, { recursive: true });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);

  const address = temporal.connection.options.address;
  process.env[TEST_ENV.temporalAddress] = typeof address === 'string' ? address : String(address);
  process.env[TEST_ENV.namespace] = temporal.namespace ?? cfg.temporal.namespace;
  process.env[TEST_ENV.motoEndpoint] = moto.endpoint;
  process.env[TEST_ENV.crmToken] = crmToken;
  process.env[TEST_ENV.workflowBundle] = bundlePath;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
