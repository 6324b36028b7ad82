/**
 * When, during one approval window, people are told an action waits: the pure rule the action workflow follows with
 * durable timers. Workflow-safe: no I/O, no clock (every time is an argument).
 */

/** Why a notification is sent. */
export type NotificationKind = 'waiting' | 'reminder' | 'escalation' | 'expiring' | 'replanned' | 'outcome';

/** What the permitting policy says about telling people (`@remind`, `@escalate_to`, `@escalate_after`). */
export interface NotificationPolicy {
  /** Remind the eligible approvers this often while the action waits. */
  remindEverySeconds?: number;
  /** The group told when the action still waits `escalateAfterSeconds` after its window opened. */
  escalateTo?: string;
  escalateAfterSeconds?: number;
}

/** Reminders sent in one window at most: a long window with a short interval must not become a flood. */
export const MAX_REMINDERS = 10;
/** How long before expiry approvers are warned, at most (less for a short window: a quarter of it). */
export const EXPIRY_WARNING_MS = 60 * 60 * 1000;

/** One notification due at a moment of the window. */
export interface DueNotification {
  at: number;
  kind: Exclude<NotificationKind, 'waiting' | 'replanned' | 'outcome'>;
}

/**
 * The notifications due in a window opened at `openedAt` that closes at `expiresAt` (ms), in time order: reminders
 * every `remindEverySeconds` (at most {@link MAX_REMINDERS}), one escalation, and one warning before expiry. Every
 * one falls strictly inside the window; when two fall at the same moment, the escalation goes first.
 */
export function notificationSchedule(
  openedAt: number,
  expiresAt: number,
  policy: NotificationPolicy = {},
): DueNotification[] {
  const due: DueNotification[] = [];
  const inside = (at: number) => at > openedAt && at < expiresAt;
  const every = (policy.remindEverySeconds ?? 0) * 1000;
  if (every > 0)
    for (let n = 1, at = openedAt + every; n <= MAX_REMINDERS && inside(at); n++, at += every)
      due.push({ at, kind: 'reminder' });
  if (policy.escalateTo && policy.escalateAfterSeconds !== undefined) {
    const at = openedAt + policy.escalateAfterSeconds * 1000;
    if (inside(at)) due.push({ at, kind: 'escalation' });
  }
  const warning = expiresAt - Math.min(EXPIRY_WARNING_MS, (expiresAt - openedAt) / 4);
  if (inside(warning)) due.push({ at: warning, kind: 'expiring' });
  const order = { escalation: 0, expiring: 1, reminder: 2 } as const;
  return due.sort((a, b) => a.at - b.at || order[a.kind] - order[b.kind]);
}
