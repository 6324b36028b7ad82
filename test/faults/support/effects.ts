import { GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { randomUUID } from 'node:crypto';
import { JsonlAuditLog } from '../../../audit/audit-log';
import { loadDevConfig } from '../../../stack/dev-config';
import { MOTO_ADMIN } from '../../../stack/moto';
import type { ProcessStack } from '../../../stack/process-stack';

const cfg = loadDevConfig();

/** One task of the registry, an input for it that is new each time, and how to count its effects at the target. */
export interface TaskCase {
  task: string;
  agent: string;
  user?: string;
  /** A fresh input (`tag` makes it unique, so its effect can be found). */
  input(tag: string): Record<string, unknown>;
  /** Whether the shipped policy makes this input wait for approval. */
  waits: boolean;
  /** The request that carries out the effect (its `METHOD path X-Amz-Target Action` line). */
  write: RegExp;
  /** The execution's first request to the target, when it is not `write`. */
  firstWrite?: RegExp;
  /** Which proxy sees `write`. */
  via: 'crm' | 'aws' | 'stripe';
  /**
   * The effects at the target of the action with this id and tag, read back from the target itself (for Stripe,
   * which keeps no state here: the distinct refunds it was asked for, by idempotency key and body).
   */
  effects(s: ProcessStack, id: string, tag: string): Promise<number>;
}

async function sentMail(s: ProcessStack): Promise<{ subject: string }[]> {
  const data = (await (await fetch(`${s.motoEndpoint}/moto-api/data.json`)).json()) as {
    ses?: { Message?: { subject: string }[] };
  };
  return data.ses?.Message ?? [];
}

async function parameterVersionsBy(s: ProcessStack, name: string, id: string): Promise<number> {
  const ssm = new SSMClient({ region: cfg.moto.region, endpoint: s.motoEndpoint, credentials: MOTO_ADMIN });
  try {
    const history = (await ssm.send(new GetParameterHistoryCommand({ Name: name }))).Parameters ?? [];
    return history.filter((p) => p.Description === `Set by Airlock action ${id}`).length;
  } catch {
    return 0;
  } finally {
    ssm.destroy();
  }
}

/** Every task in the registry, each with an input that waits for approval when the task can. */
export const TASK_CASES: TaskCase[] = [
  {
    task: 'crm.add_note_to_customer',
    agent: 'support-bot',
    user: 'alice',
    input: (tag) => ({ customerId: 'C-1001', note: `fault ${tag}` }),
    waits: false,
    write: /^POST \/customers\/C-1001\/notes/,
    via: 'crm',
    effects: async (s, _id, tag) => s.crm.store.notes.filter((n) => n.text === `fault ${tag}`).length,
  },
  {
    task: 'crm.update_customer',
    agent: 'support-bot',
    user: 'alice',
    input: (tag) => ({ customerId: 'C-1002', changes: { email: `${tag}@navy.example` } }),
    waits: true,
    write: /^PATCH \/customers\/C-1002 /,
    via: 'crm',
    // The demo CRM answers a repeated idempotency key from its store without writing again: the writes of this
    // action are the requests it counted as writes with this action's key.
    effects: async (s, id) => s.crm.store.writeKeys.filter((k) => k === id).length,
  },
  {
    task: 'ops.set_parameter',
    agent: 'ops-bot',
    input: (tag) => ({ name: `/app/faults/${tag}`, value: 'on' }),
    waits: true,
    write: /AmazonSSM\.PutParameter/,
    via: 'aws',
    effects: (s, id, tag) => parameterVersionsBy(s, `/app/faults/${tag}`, id),
  },
  {
    task: 'support.send_email',
    agent: 'support-bot',
    user: 'alice',
    input: (tag) => ({ to: 'ada@example.com', subject: `fault ${tag}`, body: 'Dear Ada, your quote is ready.' }),
    waits: false,
    // The marker that it is being sent, the send, then the marker that it went (see send-email.ts).
    firstWrite: /DynamoDB_20120810\.PutItem/,
    write: /DynamoDB_20120810\.UpdateItem/,
    via: 'aws',
    effects: async (s, _id, tag) => (await sentMail(s)).filter((m) => m.subject === `fault ${tag}`).length,
  },
  {
    task: 'billing.refund_charge',
    agent: 'support-bot',
    user: 'alice',
    input: () => ({ chargeId: 'ch_3MmlLrLkdIwHu7ix0snN0B15', amount: 40, reason: 'requested_by_customer' }),
    waits: true,
    write: /^POST \/v1\/refunds/,
    via: 'stripe',
    effects: async (s, id) => {
      const sent = s.proxies.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
      const mine = sent.filter((r) => r.headers['idempotency-key'] === id);
      // Stripe makes every request with one key one refund; two keys, or one key with two bodies, would be two.
      return new Set(mine.map((r) => `${String(r.headers['idempotency-key'])} ${r.body}`)).size;
    },
  },
];

/** A tag no other test uses. */
export const newTag = () => randomUUID().slice(0, 8);

/** The audit log's records of one action, and whether the whole log is one valid chain. */
export async function auditOf(s: ProcessStack, id: string): Promise<{ kinds: string[]; chainOk: boolean }> {
  const log = new JsonlAuditLog(s.auditLogPath);
  const records = await log.read();
  const verified = await log.verify();
  return { kinds: records.filter((r) => r.actionId === id).map((r) => r.kind), chainOk: verified.ok };
}

/** Approves as bob, then carol, until the action stops waiting. */
export async function approveAll(s: ProcessStack, id: string): Promise<void> {
  for (const approver of ['bob', 'carol']) {
    if (
      (await s.airlock.waitFor(id, ['awaiting_approval', 'executing'], { timeoutMs: 60_000 })) !== 'awaiting_approval'
    )
      return;
    const attempt = await s.decide(id, approver);
    if (!attempt.accepted) throw new Error(`${approver}'s approval of ${id} was refused: ${attempt.refusal?.message}`);
    await s.airlock.waitFor(id, ['executing'], { timeoutMs: 1000 }).catch(() => undefined);
  }
}
