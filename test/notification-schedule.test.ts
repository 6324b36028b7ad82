import fc from 'fast-check';
import { EXPIRY_WARNING_MS, MAX_REMINDERS, notificationSchedule } from '../common/notification-schedule';

const H = 3_600_000;

test('a day-long window with reminders every 2 h and escalation after 8 h', () => {
  const due = notificationSchedule(0, 24 * H, {
    remindEverySeconds: 7200,
    escalateTo: 'leads',
    escalateAfterSeconds: 8 * 3600,
  });
  expect(due.map((d) => [d.at / H, d.kind])).toEqual([
    [2, 'reminder'],
    [4, 'reminder'],
    [6, 'reminder'],
    [8, 'escalation'],
    [8, 'reminder'],
    [10, 'reminder'],
    [12, 'reminder'],
    [14, 'reminder'],
    [16, 'reminder'],
    [18, 'reminder'],
    [20, 'reminder'],
    [23, 'expiring'],
  ]);
});

test('without a policy, only the warning before expiry (a quarter of a short window)', () => {
  expect(notificationSchedule(0, 24 * H)).toEqual([{ at: 23 * H, kind: 'expiring' }]);
  expect(notificationSchedule(0, 2 * H)).toEqual([{ at: 1.5 * H, kind: 'expiring' }]);
});

test('an escalation after the window closes, or without a group, is never due', () => {
  expect(notificationSchedule(0, H, { escalateTo: 'leads', escalateAfterSeconds: 7200 }).map((d) => d.kind)).toEqual([
    'expiring',
  ]);
  expect(notificationSchedule(0, 24 * H, { escalateAfterSeconds: 60 }).map((d) => d.kind)).toEqual(['expiring']);
});

test('whatever the policy: inside the window, in time order, bounded reminders, at most one escalation and one warning (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e12 }),
      fc.integer({ min: 1, max: 30 * 24 * H }),
      fc.option(fc.integer({ min: 1, max: 40 * 24 * 3600 })),
      fc.option(fc.integer({ min: 0, max: 40 * 24 * 3600 })),
      (openedAt, length, remind, escalateAfter) => {
        const due = notificationSchedule(openedAt, openedAt + length, {
          ...(remind === null ? {} : { remindEverySeconds: remind }),
          ...(escalateAfter === null ? {} : { escalateTo: 'leads', escalateAfterSeconds: escalateAfter }),
        });
        for (const d of due) expect(d.at > openedAt && d.at < openedAt + length).toBe(true);
        for (let i = 1; i < due.length; i++) expect(due[i].at).toBeGreaterThanOrEqual(due[i - 1].at);
        expect(due.filter((d) => d.kind === 'reminder').length).toBeLessThanOrEqual(MAX_REMINDERS);
        expect(due.filter((d) => d.kind === 'escalation').length).toBeLessThanOrEqual(1);
        const warnings = due.filter((d) => d.kind === 'expiring');
        expect(warnings.length).toBeLessThanOrEqual(1);
        if (warnings[0]) expect(openedAt + length - warnings[0].at).toBeLessThanOrEqual(EXPIRY_WARNING_MS);
      },
    ),
  );
});
