import { visible } from '../../../common/terminal-text';
import { auditStoreConfigFromEnv, type AuditStoreConfig } from '../../../config/runtime-config';
import { CliError, useProfile } from '../cli-context';

/** Options that name an audit log (`audit verify`, `audit create-tables`, `policy test`). */
export interface AuditLogOptions {
  file?: string;
  checkpoint?: string;
  table?: string;
  checkpointTable?: string;
}

/** The audit log a command names (`--file`, `--table`), else the environment's (the local stack's while it runs). */
export function auditConfigOf(o: AuditLogOptions): AuditStoreConfig {
  if (o.file && o.table) throw new CliError('Pass --file or --table, not both: they name two different audit logs.');
  if (o.table) {
    const checkpointTable = o.checkpointTable ?? process.env.AIRLOCK_AUDIT_CHECKPOINT_TABLE;
    if (!checkpointTable || checkpointTable === o.table)
      throw new CliError(
        `Which checkpoint table goes with ${visible(o.table)}? Pass --checkpoint-table <name> (or set AIRLOCK_AUDIT_CHECKPOINT_TABLE): another table than the log's.`,
      );
    return { kind: 'dynamodb', table: o.table, checkpointTable } satisfies AuditStoreConfig;
  }
  if (o.file)
    return {
      kind: 'file',
      path: o.file,
      ...(o.checkpoint ? { checkpointPath: o.checkpoint } : {}),
    } satisfies AuditStoreConfig;
  useProfile();
  try {
    return auditStoreConfigFromEnv(process.env);
  } catch (err) {
    throw new CliError(
      `Which audit log? Pass --file <path> (with --checkpoint <path> if it has one) or --table <name> --checkpoint-table <name>, or set AIRLOCK_AUDIT_LOG or AIRLOCK_AUDIT_TABLE (the local stack keeps its own in .airlock/audit.jsonl). ${(err as Error).message}`,
    );
  }
}

/** Where the CLI reaches DynamoDB: AWS_REGION (required) and AWS_ENDPOINT_URL; credentials from the SDK's chain. */
export function awsForCli(): { region: string; endpoint?: string } {
  useProfile();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new CliError('Set AWS_REGION to the region of the audit tables.');
  return { region, ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}) };
}
