import type { AuditStoreConfig } from '../config/runtime-config';
import { JsonlAuditLog } from './audit-log';
import type { AuditStore } from './audit-store';
import { DynamoDbAuditLog } from './dynamodb-audit-log';
import type { DynamoDbLocation } from './dynamodb-sdk';

/**
 * The audit store a configuration names: the JSON Lines file (and its checkpoint file), or the DynamoDB tables,
 * reached at `aws` (the worker's own identity; the SDK is loaded at the first call).
 */
export function openAuditStore(config: AuditStoreConfig, aws?: DynamoDbLocation): AuditStore {
  if (config.kind === 'file') return new JsonlAuditLog(config.path, { checkpointPath: config.checkpointPath });
  if (!aws?.region)
    throw new Error(`The DynamoDB audit table ${config.table} needs an AWS region (AWS_REGION) to be reached.`);
  return new DynamoDbAuditLog({ aws, table: config.table, checkpointTable: config.checkpointTable });
}
