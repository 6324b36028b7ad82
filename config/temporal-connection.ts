import { Client, Connection, type Metadata } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ConfigError } from '../common/errors';
import { airlockDataConverter, requireCodecKeys } from '../crypto/data-converter';

/** Where and how to reach Temporal. */
export interface TemporalTarget {
  /** Unset when nothing configures it; connecting then fails with what to set. */
  address?: string;
  namespace: string;
  tls?: unknown;
  apiKey?: string;
  metadata?: Metadata;
}

/**
 * Reads the Temporal target from the environment (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the Temporal CLI's config file), so the same code runs against a
 * cluster or Temporal Cloud. Nothing falls back to the local stack: `npm start` sets these for its own processes,
 * and the CLI reads the local stack's profile (see `client/cli/cli-environment.ts`).
 */
export function temporalTargetFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    profile: env.TEMPORAL_PROFILE,
    overrideEnvVars: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
    ),
  });
  return {
    address: connectionOptions.address,
    // Temporal's own default namespace, as its CLI and SDKs use.
    namespace: namespace ?? 'default',
    tls: connectionOptions.tls,
    apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
    metadata: connectionOptions.metadata,
  };
}

/** A client for the SDK and CLI, encrypting and decrypting payloads with the codec keys of the environment. */
export async function connectClient(target = temporalTargetFromEnv(), keys = requireCodecKeys()): Promise<Client> {
  const connection = await Connection.connect({
    address: requireAddress(target),
    tls: target.tls as never,
    apiKey: target.apiKey,
    metadata: target.metadata,
  });
  return new Client({ connection, namespace: target.namespace, dataConverter: airlockDataConverter(keys) });
}

/** A worker connection. */
export async function connectWorker(target = temporalTargetFromEnv()): Promise<NativeConnection> {
  // Loaded here, not above: the CLI and the SDK read this module's settings and never run a worker, and the worker's
  // package (its native core) takes ~90 ms to load.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect({
    address: requireAddress(target),
    tls: target.tls as never,
    apiKey: target.apiKey,
    metadata: target.metadata,
  });
}

function requireAddress(target: TemporalTarget): string {
  if (!target.address)
    throw new ConfigError(
      'TEMPORAL_ADDRESS is not set: say where Temporal is (host:port), or name a Temporal CLI profile with TEMPORAL_PROFILE.',
    );
  return target.address;
}
