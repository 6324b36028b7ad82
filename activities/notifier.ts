import { Context } from '@temporalio/activity';
import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import { z } from 'zod';
import { describeHistory, type AuditEvent } from '../audit/audit-trail';
import type { RunHistory } from '../audit/run-history';
import { EvidenceError, toActivityFailure } from '../common/errors';
import { canonicalPersonId } from '../common/identifiers';
import { MAX_REMINDERS, type NotificationKind } from '../common/notification-schedule';
import { MAX_STALE_PLANS } from '../common/approval-rules';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { isFinalStatus, type ActionStatus } from '../common/statuses';
import { visible } from '../common/terminal-text';
import type { Plan, PolicyDecision } from '../common/types';
import type { Identities } from '../config/identities';
import type { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import type { TaskRegistry } from '../tasks/task-registry';
import type { AuthenticProposal, Execution } from './evidence';

/** Where notifications go. Each channel is optional; with none, `notify` sends nothing and says so. */
export interface NotificationChannels {
  /** An incoming webhook (Slack, Microsoft Teams): a JSON POST of `{ "text": … }`. Treat the URL as a secret. */
  webhookUrl?: string;
  /** Email through SES, from a verified identity, to people's addresses in the approvers file. */
  email?: { from: string; ses: SESClient };
  /** The inbox's address, for the link to the action page. */
  inboxUrl?: string;
}

/** What the notifier needs: the run's history, the registry and policy of this worker, and the channels. */
export interface NotifierDeps {
  runs: RunHistory;
  identities: Identities;
  policy: CedarPolicyEngine;
  registry: TaskRegistry;
  /** The proposal check every activity makes: only a genuine action's own run can notify. */
  authenticate(value: unknown, execution: Execution): Promise<AuthenticProposal>;
  channels: NotificationChannels;
  http: typeof fetch;
}

/** What a notification did: who was told, through what. Kept in history; never an input value. */
export interface NotificationReport {
  kind: NotificationKind;
  webhook: boolean;
  emailed: string[];
  /** Why nothing was sent, when nothing was. */
  skipped?: string;
}

const NotifyArgsSchema = z.strictObject({
  kind: z.enum(['waiting', 'reminder', 'escalation', 'expiring', 'replanned', 'outcome']),
});

const HEADLINE: Record<NotificationKind, string> = {
  waiting: 'awaits your approval',
  reminder: 'still awaits your approval',
  escalation: 'still awaits approval (escalated to you)',
  expiring: 'awaits approval and expires soon',
  replanned: 'changed at the target: the new plan awaits your approval',
  outcome: 'has finished',
};

/**
 * Text for Slack and Teams: controls and bidi characters made visible, Slack's markup characters escaped, and
 * Markdown's link syntax (which Teams renders) broken apart, so a summary can neither ping a channel nor disguise a link.
 */
const chatText = (value: unknown) =>
  visible(String(value ?? ''))
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string)
    .replace(/\]\(/g, '] (');

/**
 * Notifications one action may cause, at most: in each of its approval windows (fewer than 1 + MAX_STALE_PLANS) the most
 * the schedule asks (the opening, reminders, an escalation, a warning), and the outcome.
 */
const MAX_NOTIFICATIONS = (1 + MAX_STALE_PLANS) * (MAX_REMINDERS + 3) + 1;

/**
 * The notifier activity: tells the people who may approve that an action waits (when it starts waiting, is
 * reminded, escalated, about to expire, or re-planned), and the requester how it ended.
 *
 * Contract:
 * - it must take nothing from its caller but the kind: the action, its plan, policy and status are read from the
 *   history of the run that scheduled it, whose proposal must be genuine and that run's own (a workflow of a
 *   stranger's cannot make Airlock send its words to approvers);
 * - it must never send an input value the task marks `sensitive`, nor any secret: only task, requester, risk, the
 *   plan's summary (with sensitive values masked), approvals and expiry, and a link to the inbox;
 * - a failure throws, to be retried; the action never waits for it.
 */
export function createNotifier(deps: NotifierDeps) {
  return {
    async notify(args: unknown): Promise<NotificationReport> {
      try {
        return await tell(args);
      } catch (err) {
        // Refusals (a stranger's run, bad arguments) are final; a channel's failure is retried.
        throw toActivityFailure(err);
      }
    },
  };

  async function tell(args: unknown): Promise<NotificationReport> {
    const parsed = NotifyArgsSchema.safeParse(args);
    if (!parsed.success) throw new EvidenceError('bad_arguments', 'notify takes only { kind }.');
    const { kind } = parsed.data;
    const channels = deps.channels;
    if (!channels.webhookUrl && !channels.email)
      return { kind, webhook: false, emailed: [], skipped: 'no channel configured' };
    const { workflowExecution } = Context.current().info;
    if (!workflowExecution) throw new EvidenceError('no_workflow', 'notify runs only for an action workflow.');
    const execution = { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId };
    const history = await deps.runs.events(execution.workflowId, execution.runId);
    const start = history[0]?.workflowExecutionStartedEventAttributes;
    // The run must be Airlock's action workflow on Airlock's queue (the server wrote its start event): a workflow of a
    // stranger's, on their own queue, would write its history itself, its "plan" and "approvals" included.
    // (This activity runs on Airlock's queue: this worker polls no other.)
    if (
      start?.workflowType?.name !== ACTION_WORKFLOW_TYPE ||
      start?.taskQueue?.name !== Context.current().info.taskQueue
    )
      throw new EvidenceError('not_an_action', 'notify runs only for an Airlock action workflow on its own queue.');
    const authentic = await deps.authenticate(await deps.runs.decode(start.input?.payloads?.[0]), execution);
    const events = await describeHistory(history, deps.runs.decode);
    const action = readAction(events);
    // Told only while it waits (or, for the outcome, once it has ended), and never more often than the schedule can
    // ask: a retry after the action was decided sends nothing.
    const waiting = action.status === 'awaiting_approval' || action.status === 'awaiting_reapproval';
    if (kind === 'outcome' ? !isFinalStatus(action.status as ActionStatus) : !waiting)
      return { kind, webhook: false, emailed: [], skipped: `the action is ${action.status || 'not started'}` };
    const scheduled = history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify');
    if (scheduled.length > MAX_NOTIFICATIONS)
      throw new EvidenceError('too_many_notifications', `An action is told about at most ${MAX_NOTIFICATIONS} times.`);
    const task = deps.registry.get(authentic.payload.task);
    const query = {
      task: task.name,
      risk: task.risk,
      requester: authentic.requester,
      agent: authentic.agent.id,
    };
    const recipients =
      kind === 'outcome'
        ? [canonicalPersonId(authentic.requester)]
        : kind === 'escalation'
          ? escalationRecipients(deps, action.policy?.notifications?.escalateTo)
          : [...deps.identities.people.keys()].filter(
              (id) => deps.policy.canApprove({ approver: id, ...query }).permitted && !action.decided.has(id),
            );
    const told = recipients.filter((id) => kind === 'outcome' || !authentic.excluded.includes(id));
    const mask = sensitiveValues(task.sensitive ?? [], authentic.input);
    const summary = mask(action.plan?.summary ?? '(no plan)');
    const link = deps.channels.inboxUrl
      ? `${deps.channels.inboxUrl.replace(/\/$/, '')}/actions/${execution.workflowId}`
      : `airlock show ${execution.workflowId}`;
    const facts = [
      `risk ${task.risk}`,
      kind === 'outcome'
        ? `status ${action.status}${action.error ? `: ${mask(action.error)}` : ''}`
        : `${action.approvals}/${action.required} approval(s)`,
      ...(kind !== 'outcome' && action.expiresAt ? [`expires ${action.expiresAt}`] : []),
    ];
    const headline = `${task.name} requested by ${authentic.requester} ${HEADLINE[kind]}`;
    // What an earlier attempt already sent (its heartbeat): a retry sends the rest, not everything again.
    const before = (Context.current().info.heartbeatDetails ?? {}) as Partial<NotificationReport>;
    const report: NotificationReport = {
      kind,
      webhook: before.webhook === true,
      emailed: Array.isArray(before.emailed) ? before.emailed.filter((id) => typeof id === 'string') : [],
    };
    const progress = () => Context.current().heartbeat({ webhook: report.webhook, emailed: report.emailed });
    if (deps.channels.webhookUrl && !report.webhook) {
      const text = `Airlock: ${chatText(headline)}\n${chatText(summary)}\n${chatText(facts.join(' · '))}\nReview: ${link}`;
      const res = await deps.http(deps.channels.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`The notification webhook answered ${res.status}; retrying.`);
      report.webhook = true;
      progress();
    }
    const email = deps.channels.email;
    if (email) {
      for (const id of told) {
        const address = deps.identities.people.get(id)?.email;
        if (!address || report.emailed.includes(id)) continue;
        await email.ses.send(
          new SendEmailCommand({
            Source: email.from,
            Destination: { ToAddresses: [address] },
            Message: {
              Subject: { Data: `[Airlock] ${visible(headline)}`.slice(0, 200), Charset: 'UTF-8' },
              Body: {
                Text: {
                  Data: `${visible(headline)}.\n\n${visible(summary)}\n${visible(facts.join(' · '))}\n\nReview it: ${link}\n`,
                  Charset: 'UTF-8',
                },
              },
            },
          }),
        );
        report.emailed.push(id);
        progress();
      }
    }
    if (!report.webhook && !report.emailed.length)
      report.skipped = deps.channels.webhookUrl || email ? 'nobody to tell' : 'no channel configured';
    return report;
  }
}

/** The members of a group a loaded policy escalates to (a group named only in history is not believed). */
function escalationRecipients(deps: NotifierDeps, group: string | undefined): string[] {
  if (group === undefined || !deps.policy.escalationGroups().has(group)) return [];
  return [...deps.identities.people.values()].filter((p) => p.groups.includes(group)).map((p) => p.id);
}

/** What a notification says of an action, read from its history. */
interface ActionFacts {
  plan?: Plan;
  policy?: PolicyDecision;
  status: string;
  error?: string;
  approvals: number;
  required: number;
  expiresAt?: string;
  /** Who has decided on the current plan, or rejected: they are not reminded. */
  decided: Set<string>;
}

function readAction(events: readonly AuditEvent[]): ActionFacts {
  const facts: ActionFacts = { status: '', approvals: 0, required: 0, decided: new Set() };
  let waitingSince: number | undefined;
  for (const e of events) {
    const data = e.data as Record<string, unknown> | undefined;
    if (e.kind === 'policy_decided') facts.policy = data as unknown as PolicyDecision;
    if (e.kind === 'planned') facts.plan = data as unknown as Plan;
    if (e.kind === 'plan_changed') {
      facts.plan = data?.plan as Plan;
      if (data?.policy) facts.policy = data.policy as PolicyDecision;
      facts.decided.clear();
      facts.approvals = 0;
    }
    if (e.kind === 'status_changed') {
      facts.status = String(data?.status ?? '');
      if (facts.status === 'awaiting_approval' || facts.status === 'awaiting_reapproval')
        waitingSince = Date.parse(e.at);
    }
    if (e.kind === 'decision_recorded' && data?.accepted) {
      facts.decided.add(String(data.approver));
      if (data.decision === 'approve') facts.approvals += 1;
      else facts.error = `rejected by ${String(data.approver)}: ${String(data.reason ?? '')}`;
    }
  }
  facts.required = facts.policy?.approvalsRequired ?? 0;
  if (waitingSince !== undefined && facts.policy)
    facts.expiresAt = new Date(waitingSince + facts.policy.approvalTimeoutSeconds * 1000).toISOString();
  return facts;
}

/**
 * A function that masks, in a text, every value of the input fields a task marks sensitive (strings of 4 characters
 * or more, and numbers written out), so that a summary that quotes one does not carry it into a chat or a mailbox.
 */
function sensitiveValues(fields: readonly string[], input: unknown): (text: string) => string {
  const values = fields
    .map((f) => (input as Record<string, unknown> | undefined)?.[f])
    .flatMap((v) => (typeof v === 'string' ? [v] : typeof v === 'number' ? [String(v)] : []))
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length);
  return (text) => values.reduce((t, v) => t.split(v).join('[sensitive]'), text);
}
