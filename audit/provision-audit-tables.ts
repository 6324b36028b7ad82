import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbSdk } from './dynamodb-sdk';

/** The log table's key schema: `pk` (S) and `sk` (S). */
export function auditTableDefinition(table: string): CreateTableCommandInput {
  return {
    TableName: table,
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** The checkpoint table's key schema: `pk` (S), the name of the log table it keeps the head of. */
export function checkpointTableDefinition(table: string): CreateTableCommandInput {
  return {
    TableName: table,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/**
 * Creates the audit log's table and its checkpoint table if they do not exist, and waits until both are active
 * (`airlock audit create-tables`, and the tests against moto). Idempotent. A table that exists with another key
 * schema is refused, not used: appends would fail on every write.
 */
export async function provisionAuditTables(
  client: DynamoDBClient,
  tables: { table: string; checkpointTable: string },
): Promise<void> {
  if (tables.table === tables.checkpointTable)
    throw new Error(
      `The audit table and its checkpoint table are both ${tables.table}; the checkpoint must be kept apart from the log (another table, ideally writable only by the workers).`,
    );
  const { CreateTableCommand, DescribeTableCommand } = await dynamoDbSdk();
  for (const definition of [auditTableDefinition(tables.table), checkpointTableDefinition(tables.checkpointTable)]) {
    await client.send(new CreateTableCommand(definition)).catch((err: { name?: string }) => {
      if (err.name !== 'ResourceInUseException') throw err;
    });
    for (let attempt = 0; ; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
      const keys = (Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
      const wanted = (definition.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
      if (keys !== wanted)
        throw new Error(
          `Table ${definition.TableName} exists with key schema ${keys || '(none)'}, not ${wanted}; give the audit log tables of their own.`,
        );
      if (Table?.TableStatus === 'ACTIVE') break;
      if (attempt > 120) throw new Error(`Table ${definition.TableName} did not become active within two minutes.`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
