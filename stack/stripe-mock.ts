import { freePort } from './free-port';
import { startChildService, type ChildService } from './child-service';
import { stripeMockPath } from './tools';

/** A running stripe-mock: Stripe's API emulator, stateless, validating requests against Stripe's OpenAPI spec. */
export type StripeMock = ChildService;

/** Starts stripe-mock on 127.0.0.1:port (HTTP) and waits until it answers. */
export async function startStripeMock(port: number): Promise<StripeMock> {
  const url = `http://127.0.0.1:${port}`;
  return startChildService({
    name: 'stripe-mock',
    command: stripeMockPath(),
    args: ['-http-port', String(port), '-https-port', String(await freePort())],
    url,
    ready: async () =>
      (await fetch(`${url}/v1/charges/ch_ping`, { headers: { authorization: 'Bearer sk_test_ping' } })).ok,
  });
}
