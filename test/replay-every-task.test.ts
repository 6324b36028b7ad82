import { startHarness, type Harness } from './support/harness';
import { loadSigningKey } from '../crypto/signing-keys';

// With no workflow cache, every workflow task replays the action's whole history on a fresh workflow: what a worker
// restart, a cache eviction or another worker does at any moment. Each path must replay as it ran.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ noWorkflowCache: true });
});
afterAll(async () => {
  await h?.close();
});

const alice = { agent: 'support-bot', user: 'alice' };

test('auto-approved, dry-run, approved and rejected actions complete with every workflow task replayed', async () => {
  const bob = loadSigningKey('bob', h.keysDir);
  const note = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'Replayed at every task' },
    ...alice,
  });
  const preview = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1002', changes: { tier: 'gold' } },
    ...alice,
    dryRun: true,
  });
  const approved = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1002', changes: { phone: '+44 20 7946 0999' } },
    ...alice,
  });
  const rejected = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { tier: 'platinum' } },
    ...alice,
  });
  for (const { id } of [approved, rejected]) await h.airlock.waitFor(id, ['awaiting_approval']);
  expect((await h.airlock.decideAs(approved.id, { approver: 'bob', key: bob, decision: 'approve' })).accepted).toBe(
    true,
  );
  const no = await h.airlock.decideAs(rejected.id, { approver: 'bob', key: bob, decision: 'reject', reason: 'no' });
  expect(no.accepted).toBe(true);

  const ends = await Promise.all(
    [note, preview, approved, rejected].map(
      async ({ id }) => (await h.airlock.result(id, { timeoutMs: 20_000 })).status,
    ),
  );
  expect(ends).toEqual(['succeeded', 'planned', 'succeeded', 'rejected']);
  expect(h.crm.store.customers.get('C-1002')?.phone).toBe('+44 20 7946 0999');
  expect(h.crm.store.customers.get('C-1003')?.tier).not.toBe('platinum');
});
