import { placeAmong, type ListedRun } from '../audit/run-history';

// Which run of an action id may act: the first one visibility lists, and none while this one is not listed (an
// earlier run might not be listed yet either). Pure; runStart lists and retries around it.

const run = (runId: string, startedAt: number): ListedRun => ({ runId, startedAt });

test('a run not listed yet has no place: the answer waits for visibility', () => {
  expect(placeAmong([], 'b')).toBeUndefined();
  expect(placeAmong([run('a', 1)], 'b')).toBeUndefined();
});

test('the only run, or the earliest, is first, with its listed start', () => {
  expect(placeAmong([run('b', 5)], 'b')).toEqual({ first: true, startedAt: 5 });
  expect(placeAmong([run('c', 9), run('b', 5)], 'b')).toEqual({ first: true, startedAt: 5 });
});

test('a run started after another of its id (a replayed proposal) is not first', () => {
  expect(placeAmong([run('a', 1), run('b', 5)], 'b')).toEqual({ first: false, startedAt: 5 });
});

test('two runs started at the same instant: exactly one of them is first, whichever asks', () => {
  const runs = [run('x', 7), run('y', 7)];
  const firsts = ['x', 'y'].filter((id) => placeAmong(runs, id)?.first);
  expect(firsts).toEqual(['x']);
});

test('property: among any listed runs exactly one is first, and it is the earliest', () => {
  let seed = 42;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 500; i++) {
    const runs = Array.from({ length: 1 + rnd(6) }, (_, k) => run(`r${k}-${rnd(1000)}`, rnd(4)));
    const unique = [...new Map(runs.map((r) => [r.runId, r])).values()];
    const firsts = unique.filter((r) => placeAmong(unique, r.runId)?.first);
    expect(firsts).toHaveLength(1);
    expect(firsts[0].startedAt).toBe(Math.min(...unique.map((r) => r.startedAt)));
  }
});
