import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The DynamoDB SDK module. */
export type DynamoDbSdk = typeof import('@aws-sdk/client-dynamodb');

/** Where DynamoDB is, and as whom (unset credentials: the SDK's default provider chain). */
export interface DynamoDbLocation {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

let loading: Promise<DynamoDbSdk> | undefined;

/**
 * The DynamoDB SDK, loaded when first needed: the CLI's commands that never reach DynamoDB (all but the audit
 * log's) must not pay for loading it.
 */
export function dynamoDbSdk(): Promise<DynamoDbSdk> {
  return (loading ??= import('@aws-sdk/client-dynamodb'));
}

/** A client for `where`, with the SDK loaded on first use. */
export async function dynamoDbClient(where: DynamoDbLocation): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await dynamoDbSdk();
  return new DynamoDBClient({
    region: where.region,
    endpoint: where.endpoint,
    credentials: where.credentials,
    // Appends are serialised per process: one hung call must not hold every later record (and so every execution).
    requestHandler: { connectionTimeout: 5000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  });
}
