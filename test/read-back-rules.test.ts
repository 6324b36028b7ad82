import fc from 'fast-check';
import { canonicalJson } from '../common/canonical-json';
import { notVerified, readBackDifferences, readBackVerdict } from '../common/read-back';
import { MAX_READ_BACK_DIFFERENCES } from '../common/types';

// The comparison of a read-back with the plan's `after` (common/read-back.ts), pure: what it reports is exactly where
// the two differ, never a field the task declared the target sets itself.

/** Field names without dots, so that a path names one field (as the tasks' own fields do). */
const key = fc.constantFrom('id', 'name', 'tier', 'notes', 'value', 'createdAt', 'a', 'b', 'c');
const leaf = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('on', 'off', 'gold', ''),
  fc.boolean(),
  fc.constant(null),
);
const { value: record } = fc.letrec<{ value: Record<string, unknown>; any: unknown }>((tie) => ({
  value: fc.dictionary(key, tie('any'), { maxKeys: 5 }),
  any: fc.oneof({ depthSize: 'small' }, leaf, fc.array(leaf, { maxLength: 3 }), tie('value')),
}));

/** The value at a dotted path, or undefined when there is none. */
const at = (value: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined),
      value,
    );

/** A value for comparison, a missing one apart from null. */
const shown = (v: unknown) => (v === undefined ? '(absent)' : canonicalJson(v));

/** Every path to a field whose value is not an object (what the comparison reports). */
const leafPaths = (value: Record<string, unknown>, prefix = ''): string[] =>
  Object.entries(value).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return v && typeof v === 'object' && !Array.isArray(v) ? leafPaths(v as Record<string, unknown>, p) : [p];
  });

/** `value` with `path` set to `to` (records along the path made where missing). */
const setAt = (value: Record<string, unknown>, path: string, to: unknown): Record<string, unknown> => {
  const [head, ...rest] = path.split('.');
  const inner = value[head];
  const base = inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
  return { ...value, [head]: rest.length ? setAt(base, rest.join('.'), to) : to };
};

test('a read that holds what the plan said differs nowhere, whatever is ignored (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.array(fc.string(), { maxLength: 3 }), (value, ignore) => {
      expect(readBackDifferences(value, structuredClone(value), ignore)).toEqual([]);
    }),
  );
});

test('with nothing ignored, it reports a difference exactly when the two JSON values are not the same (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (planned, found) => {
      const same =
        canonicalJson(JSON.parse(JSON.stringify(planned))) === canonicalJson(JSON.parse(JSON.stringify(found)));
      expect(readBackDifferences(planned, found).length === 0).toBe(same);
    }),
  );
});

test('one changed field is reported at its path, with what was planned and what was found (property)', () => {
  fc.assert(
    fc.property(
      record.filter((r) => leafPaths(r).length > 0),
      fc.nat(),
      (planned, pick) => {
        const paths = leafPaths(planned);
        const path = paths[pick % paths.length];
        const found = setAt(planned, path, 'changed behind Airlock’s back');
        expect(readBackDifferences(planned, found)).toEqual([
          { path, planned: at(planned, path), found: 'changed behind Airlock’s back' },
        ]);
      },
    ),
  );
});

test('every difference names a path where the two differ, with the values there, both ways round (property)', () => {
  fc.assert(
    fc.property(record, record, (planned, found) => {
      const differences = readBackDifferences(planned, found);
      for (const d of differences) {
        expect(shown(at(planned, d.path))).not.toBe(shown(at(found, d.path)));
        if ('planned' in d) expect(d.planned).toEqual(at(planned, d.path));
        else expect(at(planned, d.path)).toBeUndefined();
        if ('found' in d) expect(d.found).toEqual(at(found, d.path));
        else expect(at(found, d.path)).toBeUndefined();
      }
      // The other way round: the same paths, planned and found swapped.
      const swapped = differences.map((d) => ({
        path: d.path,
        ...('found' in d ? { planned: d.found } : {}),
        ...('planned' in d ? { found: d.planned } : {}),
      }));
      expect(readBackDifferences(found, planned)).toEqual(swapped);
    }),
  );
});

test('fields the task declares the target sets itself are never reported, and nothing else is hidden (property)', () => {
  fc.assert(
    fc.property(record, record, fc.array(key, { maxLength: 3 }), (planned, found, ignore) => {
      const all = readBackDifferences(planned, found);
      const kept = readBackDifferences(planned, found, ignore);
      for (const d of kept) for (const i of ignore) expect(d.path === i || d.path.startsWith(`${i}.`)).toBe(false);
      // Ignoring top-level fields removes exactly the differences at and under them.
      expect(kept).toEqual(all.filter((d) => !ignore.some((i) => d.path === i || d.path.startsWith(`${i}.`))));
    }),
  );
});

test('a target that set only ignored fields (its ids, its timestamps) matches the plan (property)', () => {
  fc.assert(
    fc.property(
      record,
      fc.uniqueArray(key, { minLength: 1, maxLength: 3 }),
      fc.array(leaf, { minLength: 3, maxLength: 3 }),
      (plannedTop, ignore, set) => {
        // The plan has a nested record too; the target sets fields at the top and inside it.
        const planned = setAt(plannedTop, 'meta.kept', 'as planned');
        const nested = ignore.map((k) => `meta.${k}`);
        const found = [...ignore, ...nested].reduce((v, path, i) => setAt(v, path, set[i % set.length]), planned);
        expect(readBackVerdict(planned, found, [...ignore, ...nested], 'now')).toEqual({
          status: 'matches',
          readAt: 'now',
        });
        // Not ignoring them, each one that changed is reported.
        const changed = [...ignore, ...nested].filter((path) => shown(at(planned, path)) !== shown(at(found, path)));
        expect(readBackDifferences(planned, found).map((d) => d.path)).toEqual(expect.arrayContaining(changed));
      },
    ),
  );
});

test('dates, undefined fields and class instances are compared as JSON holds them', () => {
  const when = new Date('2026-11-24T12:00:00Z');
  expect(readBackDifferences({ at: when.toISOString(), gone: undefined }, { at: when })).toEqual([]);
  expect(readBackDifferences({ value: 'on' }, undefined)).toEqual([
    { path: '(value)', planned: { value: 'on' }, found: null },
  ]);
  expect(readBackDifferences({ name: '/app/x', value: 'on' }, { name: '/app/x' })).toEqual([
    { path: 'value', planned: 'on' },
  ]);
  expect(readBackDifferences({ name: '/app/x' }, { name: '/app/x', value: 'on' })).toEqual([
    { path: 'value', found: 'on' },
  ]);
});

test('a verdict lists at most the first differences and counts the rest; a reason is kept short', () => {
  const planned = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${String(i).padStart(2, '0')}`, i]));
  const found = Object.fromEntries(Object.keys(planned).map((k) => [k, -1]));
  const verdict = readBackVerdict(planned, found, [], '2026-11-24T12:00:00.000Z');
  expect(verdict).toMatchObject({
    status: 'differs',
    moreDifferences: 30 - MAX_READ_BACK_DIFFERENCES,
    readAt: '2026-11-24T12:00:00.000Z',
  });
  expect(verdict.differences).toHaveLength(MAX_READ_BACK_DIFFERENCES);
  expect(verdict.differences?.[0]).toEqual({ path: 'f00', planned: 0, found: -1 });
  expect(readBackVerdict({ a: 1 }, { a: 1 }, [], 'now')).toEqual({ status: 'matches', readAt: 'now' });
  expect(notVerified('x'.repeat(2000)).reason).toHaveLength(500);
  expect(notVerified('the demo CRM refused GET /customers/C-1001: HTTP 503')).toEqual({
    status: 'unverified',
    reason: 'the demo CRM refused GET /customers/C-1001: HTTP 503',
  });
});
