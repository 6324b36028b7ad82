import { Client, Connection, type Metadata } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { loadDevConfig } from '../stack/dev-config';
import { airlockDataConverter, requireCodecKeys } from '../crypto/data-converter';

/** Where and how to reach Temporal. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  tls?: unknown;
  apiKey?: string;
  metadata?: Metadata;
}

/**
 * Reads the Temporal target from the environment (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the Temporal CLI's config file), so the same code runs against a
 * cluster or Temporal Cloud; with nothing set, the local stack of `temporal-dev.yml`.
 */
export function temporalTargetFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const dev = loadDevConfig();
  const { connectionOptions, namespace } = loadClientConnectConfig({
    profile: env.TEMPORAL_PROFILE,
    overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string')),
  });
  return {
    address: connectionOptions.address ?? `${dev.temporal.ip}:${dev.temporal.port}`,
    namespace: namespace ?? dev.temporal.namespace,
    tls: connectionOptions.tls,
    apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
    metadata: connectionOptions.metadata,
  };
}

/** A client for the SDK and CLI, encrypting and decrypting payloads with the codec keys of the environment. */
export async function connectClient(target = temporalTargetFromEnv(), keys = requireCodecKeys()): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    tls: target.tls as never,
    apiKey: target.apiKey,
    metadata: target.metadata,
  });
  return new Client({ connection, namespace: target.namespace, dataConverter: airlockDataConverter(keys) });
}

/** A worker connection. */
export async function connectWorker(target = temporalTargetFromEnv()): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: target.address,
    tls: target.tls as never,
    apiKey: target.apiKey,
    metadata: target.metadata,
  });
}
