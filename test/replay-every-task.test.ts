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

// One action at a time: with no cache at all, a run whose local activity is in flight is the only one the worker
// holds, as a worker with a cache would hold it.
test('auto-approved, dry-run, approved and rejected actions complete with every workflow task replayed', async () => {
  const bob = loadSigningKey('bob', h.keysDir);
  const end = async (id: string) => (await h.airlock.result(id, { timeoutMs: 20_000 })).status;
  /** Proposes an action that waits for approval, lets bob decide, and says how it ended. */
  const decided = async (input: unknown, decision: 'approve' | 'reject') => {
    const { id } = await h.airlock.propose({ task: 'crm.update_customer', input, ...alice });
    await h.airlock.waitFor(id, ['awaiting_approval']);
    const attempt = await h.airlock.decideAs(id, { approver: 'bob', key: bob, decision, reason: 'checked' });
    expect(attempt.accepted).toBe(true);
    return end(id);
  };
  const ends = [
    await end(
      (
        await h.airlock.propose({
          task: 'crm.add_note_to_customer',
          input: { customerId: 'C-1001', note: 'Replayed at every task' },
          ...alice,
        })
      ).id,
    ),
    await end(
      (
        await h.airlock.propose({
          task: 'crm.update_customer',
          input: { customerId: 'C-1002', changes: { tier: 'gold' } },
          ...alice,
          dryRun: true,
        })
      ).id,
    ),
    await decided({ customerId: 'C-1002', changes: { phone: '+44 20 7946 0999', tier: 'gold' } }, 'approve'),
    await decided({ customerId: 'C-1003', changes: { tier: 'platinum' } }, 'reject'),
  ];
  expect(ends).toEqual(['succeeded', 'planned', 'succeeded', 'rejected']);
  expect(h.crm.store.customers.get('C-1002')?.phone).toBe('+44 20 7946 0999');
  expect(h.crm.store.customers.get('C-1003')?.tier).not.toBe('platinum');
});
