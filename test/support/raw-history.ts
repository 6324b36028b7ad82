import type { Client } from '@temporalio/client';

/** JSON text of a history object with its base64 bytes fields (payload data and metadata) decoded as UTF-8. */
export function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (typeof value === 'string' && (key === 'data' || key === 'encoding' || key === 'type')) {
      return Buffer.from(value, 'base64').toString('utf8');
    }
    return value;
  });
}

/**
 * The history of a workflow as text, with every payload's bytes decoded as UTF-8 and no data converter: what
 * someone with read access to the Temporal database would see.
 */
export async function rawHistoryText(client: Client, workflowId: string): Promise<string> {
  // protobufjs renders bytes fields as base64 in JSON.
  return historyText(await client.workflow.getHandle(workflowId).fetchHistory());
}
