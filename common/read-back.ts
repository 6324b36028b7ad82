import { diffValues } from './plan-diff';
import { MAX_READ_BACK_DIFFERENCES, type ReadBackDifference, type ReadBackVerification } from './types';
import { visible } from './terminal-text';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `path` is one of `ignored`, or a field under one (`createdAt`, `note.id`). */
const isIgnored = (path: string, ignored: readonly string[]) =>
  ignored.some((i) => path === i || path.startsWith(`${i}.`));

/**
 * `value` without the ignored fields, walked the way {@link diffValues} names paths (object fields by dotted path;
 * arrays are values, so a path never reaches inside one).
 */
function withoutIgnored(value: unknown, ignored: readonly string[], path = ''): unknown {
  if (!isRecord(value)) return value;
  // fromEntries defines each field as its own, so that a field named `__proto__` stays a field.
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, field]) => {
      const p = path ? `${path}.${key}` : key;
      return isIgnored(p, ignored) ? [] : [[key, withoutIgnored(field, ignored, p)]];
    }),
  );
}

/** A value as JSON holds it (what was read may hold `undefined` fields, dates, class instances): what is compared. */
const asJson = (value: unknown): unknown => {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
};

/**
 * Where the target, as read back, differs from the plan's `after`, field by field (the plan diff's own rule: objects
 * per field, arrays as wholes), leaving out the fields the task declares the target sets itself (`ignore`: dotted
 * paths, each with everything under it). Empty when they agree. Pure.
 */
export function readBackDifferences(
  planned: unknown,
  found: unknown,
  ignore: readonly string[] = [],
): ReadBackDifference[] {
  const a = withoutIgnored(asJson(planned), ignore);
  const b = withoutIgnored(asJson(found), ignore);
  return diffValues(a, b).map((d) => ({
    path: d.path,
    ...(d.op === 'add' ? {} : { planned: d.before }),
    ...(d.op === 'remove' ? {} : { found: d.after }),
  }));
}

/**
 * The verdict on a read made at `readAt`: `matches`, or `differs` with the first
 * {@link MAX_READ_BACK_DIFFERENCES} differing fields and how many more there are. Pure.
 */
export function readBackVerdict(
  planned: unknown,
  found: unknown,
  ignore: readonly string[],
  readAt: string,
): ReadBackVerification {
  const differences = readBackDifferences(planned, found, ignore);
  if (!differences.length) return { status: 'matches', readAt };
  const more = differences.length - MAX_READ_BACK_DIFFERENCES;
  return {
    status: 'differs',
    differences: differences.slice(0, MAX_READ_BACK_DIFFERENCES),
    ...(more > 0 ? { moreDifferences: more } : {}),
    readAt,
  };
}

/** The longest reason a verification keeps (a target's error message can be long). */
const MAX_REASON = 500;

/** A read that could not be made or compared: the effect happened, and this says why it is not verified. */
export function notVerified(reason: string): ReadBackVerification {
  return {
    status: 'unverified',
    reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 3)}...` : reason,
  };
}

/** One differing field for people: its path, what was planned and what was found, every value escaped. */
export function differenceInWords(d: ReadBackDifference): string {
  const value = (present: boolean, x: unknown) => (present ? visible(JSON.stringify(x) ?? 'null') : '(absent)');
  return `${visible(d.path)}: planned ${value('planned' in d, d.planned)}, found ${value('found' in d, d.found)}`;
}

/**
 * A verification in one line for people (every value from the target escaped): a difference is said in capitals, so
 * that it stands out in a trail of ordinary lines.
 */
export function verificationInWords(v: ReadBackVerification): string {
  switch (v.status) {
    case 'matches':
      return 'read back: the target holds what was planned';
    case 'differs':
      return (
        `READ BACK DIFFERS FROM THE PLAN: ${(v.differences ?? []).map(differenceInWords).join('; ')}` +
        (v.moreDifferences ? `; and ${v.moreDifferences} more field(s)` : '')
      );
    case 'unverified':
      return `read back: not verified: ${visible(v.reason ?? 'no reason given')}`;
    case 'not_readable':
      return `read back: not readable: ${visible(v.reason ?? 'no reason given')}`;
    default:
      return `read back: ${visible(String((v as { status?: unknown }).status))}`;
  }
}
