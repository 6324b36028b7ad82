import { startHarness, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

test('a low-risk note runs to succeeded with no approval and lands in the CRM once', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'Called about renewal' },
    agent: 'support-bot',
    user: 'alice',
  });
  const final = await h.airlock.result(id, { timeoutMs: 30_000 });
  expect(final.status).toBe('succeeded');
  expect(final.approvals).toEqual([]);
  const notes = h.crm.store.notes.filter((n) => n.customerId === 'C-1001');
  expect(notes.map((n) => n.text)).toEqual(['Called about renewal']);
  expect(final.result?.output).toMatchObject({ noteId: notes[0].id, customerId: 'C-1001' });
  expect(final.result?.credentials).toMatchObject({ sessionName: id, sourceIdentity: 'alice', durationSeconds: 900 });
});
