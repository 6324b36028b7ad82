import fc from 'fast-check';
import { MAX_AGENT_ENTRIES, MAX_BOOK_ENTRIES, UsageBook, type Reservation } from '../common/usage-book';

const DAY = 24 * 60 * 60 * 1000;
const reservation = (n: number, amount: number, agent = 'support-bot', requester = 'alice'): Reservation => ({
  actionId: `act-${n}`,
  runId: `run-${n}`,
  agent,
  requester,
  amount,
});

test('whatever the order reservations arrive and end in, no more pass under a limit than it allows (property)', () => {
  // Proposals of random amounts against a limit; each is reserved, decided on the figures it was answered ("with me,
  // at most the limit"), and the refused ones give their reservation back at any later point.
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 20000 }),
      fc.array(fc.nat(), { maxLength: 80 }),
      (amounts, limit, schedule) => {
        const book = new UsageBook(DAY);
        const refused: string[] = [];
        let passed = 0;
        let passedTotal = 0;
        const steps = [...schedule];
        amounts.forEach((amount, i) => {
          const answered = book.reserve(reservation(i, amount), 0);
          if (answered.agent.total <= limit) {
            passed += 1;
            passedTotal += amount;
          } else refused.push(`act-${i}`);
          // Some refused ones are released now, in an order the schedule picks; the rest later.
          while (steps.length && refused.length && steps[0] % 2 === 0) {
            const [id] = refused.splice((steps.shift() as number) % refused.length, 1);
            book.settle(id, 'released', 0);
          }
          steps.shift();
        });
        // Never more than the limit among those that passed, and everything that passed is still counted.
        expect(passedTotal).toBeLessThanOrEqual(limit);
        expect(book.figures({ agent: 'support-bot', requester: 'alice' }, 0).agent.total).toBeGreaterThanOrEqual(
          passedTotal,
        );
        expect(passed + refused.length).toBeLessThanOrEqual(amounts.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('a repeated reservation answers the same figures, and counts once', () => {
  const book = new UsageBook(DAY);
  const first = book.reserve(reservation(1, 1000), 0);
  book.reserve(reservation(2, 500), 1);
  expect(book.reserve(reservation(1, 1000), 2)).toEqual(first);
  expect(book.figures({ agent: 'support-bot', requester: 'alice' }, 3).task).toEqual({ count: 2, total: 1500 });
});

test('figures by agent, by requester and in all: each scope counts its own', () => {
  const book = new UsageBook(DAY);
  book.reserve(reservation(1, 100, 'support-bot', 'alice'), 0);
  book.reserve(reservation(2, 200, 'support-bot', 'dora'), 0);
  book.reserve(reservation(3, 400, 'other-bot', 'alice'), 0);
  expect(book.figures({ agent: 'support-bot', requester: 'alice' }, 0)).toEqual({
    agent: { count: 2, total: 300 },
    user: { count: 2, total: 500 },
    task: { count: 3, total: 700 },
  });
});

test('a success counts for the window from when it succeeded; one still in flight counts however old; a release never', () => {
  const book = new UsageBook(DAY);
  book.reserve(reservation(1, 100), 0);
  book.reserve(reservation(2, 200), 0);
  book.reserve(reservation(3, 400), 0);
  book.settle('act-1', 'committed', 10);
  book.settle('act-2', 'released', 10);
  book.settle('act-3', 'running', 10); // still waiting for approvers
  const at = (t: number) => book.figures({ agent: 'support-bot', requester: 'alice' }, t).agent;
  expect(at(DAY)).toEqual({ count: 2, total: 500 });
  expect(at(DAY + 10)).toEqual({ count: 1, total: 400 });
  expect(book.unsettled(DAY)).toEqual(['act-3']);
  // What a new run carries: only what still counts.
  expect(book.prune(DAY + 10).map((e) => e.actionId)).toEqual(['act-3']);
  expect(
    new UsageBook(DAY, book.prune(DAY + 10)).figures({ agent: 'support-bot', requester: 'x' }, DAY + 10).agent,
  ).toEqual({ count: 1, total: 400 });
});

test('settling an action twice, or one the book never held, changes nothing', () => {
  const book = new UsageBook(DAY);
  book.reserve(reservation(1, 100), 0);
  book.settle('act-1', 'committed', 5);
  book.settle('act-1', 'committed', DAY); // a later commit does not extend the window
  book.settle('act-9', 'released', 5);
  const count = (t: number) => book.figures({ agent: 'support-bot', requester: 'alice' }, t).agent.count;
  expect([count(DAY + 4), count(DAY + 5)]).toEqual([1, 0]);
  expect(book.size).toBe(1);
});

test('an action that comes back for more (its plan changed) counts the larger amount; never less', () => {
  const book = new UsageBook(DAY);
  book.reserve(reservation(1, 1000), 0);
  book.reserve(reservation(2, 500), 0);
  expect(book.reserve(reservation(1, 1500), 1).agent).toEqual({ count: 2, total: 2000 });
  expect(book.reserve(reservation(1, 10), 2).agent).toEqual({ count: 2, total: 2000 });
});

test("an action's attribution never moves: a reservation of it for another agent, requester or run is refused", () => {
  const book = new UsageBook(DAY);
  book.reserve(reservation(1, 1000), 0);
  expect(book.refusal(reservation(1, 0, 'ops-bot', 'ops-bot'))).toMatch(/another run, agent or requester/);
  expect(book.refusal(reservation(1, 0, 'support-bot', 'dora'))).toMatch(/another run, agent or requester/);
  expect(book.refusal({ ...reservation(1, 0), runId: 'other' })).toMatch(/another run, agent or requester/);
  expect(book.refusal(reservation(1, 5000))).toBeUndefined();
});

test('a full book, or an agent holding its whole share, refuses new actions (not those it holds)', () => {
  const book = new UsageBook(DAY);
  for (let i = 0; i < MAX_AGENT_ENTRIES; i++) book.reserve(reservation(i, 1), 0);
  expect(book.refusal(reservation(MAX_AGENT_ENTRIES, 1))).toMatch(/actions of agent support-bot/);
  expect(book.refusal(reservation(0, 1))).toBeUndefined();
  expect(book.refusal(reservation(MAX_AGENT_ENTRIES, 1, 'other-bot'))).toBeUndefined();
  for (let i = 0; book.size < MAX_BOOK_ENTRIES; i++) book.reserve(reservation(100_000 + i, 1, `bot-${i % 10}`), 0);
  expect(book.refusal(reservation(999_999, 1, 'fresh-bot'))).toMatch(/holds 4000 actions/);
});

test('a book rebuilt while reservations were in flight answers each as of its reservation, in any order (property)', () => {
  // Workers record each reservation in the audit log before they send it; a ledger that rebuilds then finds them all.
  // Answered in any order, they pass exactly as if reserved one at a time, and never more than the limit.
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 0, max: 20000 }),
      fc.array(fc.nat()),
      (amounts, limit, picks) => {
        const book = new UsageBook(DAY);
        amounts.forEach((amount, i) => book.restore({ ...reservation(i, amount), reservedAt: i + 1 }));
        const order = amounts.map((_, i) => i);
        picks.forEach((p, k) => {
          const a = k % order.length;
          const b = p % order.length;
          [order[a], order[b]] = [order[b], order[a]];
        });
        const passed = new Set<number>();
        for (const i of order) if (book.reserve(reservation(i, amounts[i]), 100).agent.total <= limit) passed.add(i);
        let running = 0;
        const serial = new Set<number>();
        amounts.forEach((amount, i) => {
          running += amount;
          if (running <= limit) serial.add(i);
        });
        expect([...passed].sort((x, y) => x - y)).toEqual([...serial]);
      },
    ),
  );
});
