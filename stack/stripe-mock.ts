import { spawn, type ChildProcess } from 'node:child_process';
import { stripeMockPath } from './tools';
import { freePort } from './free-port';

/** A running stripe-mock: Stripe's API emulator, stateless, validating requests against Stripe's OpenAPI spec. */
export interface StripeMock {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts stripe-mock on 127.0.0.1:port (HTTP) and waits until it answers. */
export async function startStripeMock(port: number): Promise<StripeMock> {
  const child = spawn(stripeMockPath(), ['-http-port', String(port), '-https-port', String(await freePort())], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stripe-mock exited with code ${child.exitCode}; is port ${port} free?`);
    try {
      const res = await fetch(`${url}/v1/charges/ch_ping`, { headers: { authorization: 'Bearer sk_test_ping' } });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`stripe-mock did not answer on ${url} within 30 s.`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
