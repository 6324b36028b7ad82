import { visible } from '../../../common/terminal-text';
import { auditTrail } from '../../../audit/audit-trail';
import { dynamoDbClient } from '../../../audit/dynamodb-sdk';
import { openAuditStore } from '../../../audit/open-audit-store';
import { provisionAuditTables } from '../../../audit/provision-audit-tables';
import { CliError, EXIT, airlock, print } from '../cli-context';
import { auditConfigOf, awsForCli, type AuditLogOptions } from './audit-settings';

/**
 * `airlock audit <action-id>`: an action's audit trail, read from its workflow history. `audit verify` checks the audit
 * log's hash chain and checkpoint (exit 1 when broken); `audit create-tables` creates the DynamoDB audit tables.
 */
export async function auditCommand(id: string, o: AuditLogOptions): Promise<void> {
  if (id === 'create-tables') {
    const config = auditConfigOf(o);
    if (config.kind !== 'dynamodb')
      throw new CliError('create-tables makes DynamoDB tables: pass --table <name> and --checkpoint-table <name>.');
    const client = await dynamoDbClient(awsForCli());
    try {
      await provisionAuditTables(client, config);
    } finally {
      client.destroy();
    }
    print(`Audit tables ready: ${config.table} (log) and ${config.checkpointTable} (checkpoint).`, config);
    return;
  }
  if (id === 'verify') {
    const config = auditConfigOf(o);
    const log = openAuditStore(config, config.kind === 'dynamodb' ? awsForCli() : undefined);
    const result = await log.verify();
    const where = config.kind === 'file' ? { file: config.path } : { table: config.table };
    if (result.ok) {
      const cp = result.checkpoint;
      print(
        `${log.where}: ${result.records} record(s), chain intact; head ${result.head}` +
          (cp ? `; checkpoint of ${cp.at} at record ${cp.seq} matches` : '; no checkpoint to compare with'),
        { ...where, ...result },
      );
      return;
    }
    print(`${log.where}: ${visible(result.message)}`, { ...where, ...result });
    throw new CliError('', EXIT.error);
  }
  const events = await auditTrail((await airlock()).temporal, id);
  print(events.map((e) => `${e.at}  ${e.summary}`).join('\n'), events);
}
