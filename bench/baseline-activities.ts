/** The baseline's one activity: POST the note, with a token it already holds (no policy, no plan, no STS). */
export function createBaselineActivities(crmUrl: string, token: string, http: typeof fetch = fetch) {
  return {
    async postNote(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
      const res = await http(`${crmUrl}/customers/${customerId}/notes`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify({ text: note }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return res.json();
    },
  };
}

/** The baseline activities, for `import type` in the workflow. */
export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
