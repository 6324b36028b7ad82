import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { startHarness, type Harness } from './support/harness';
import { runAirlock, suiteCliEnv } from './support/cli';

// The CLI ends by process.exit: a proposal it traced must still reach the collector (its spans are exported first,
// waiting 2 s at most), and a command run with tracing off sends nothing.
jest.setTimeout(120_000);

let h: Harness;
let collector: Server;
let endpoint: string;
const received: { path: string; body: Buffer }[] = [];

beforeAll(async () => {
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE });
  // An OTLP/HTTP collector: records what it is sent, answers as a collector does.
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => collector?.close(resolve));
  await h?.close();
});

const propose = (note: string, env: NodeJS.ProcessEnv) =>
  runAirlock(
    [
      'propose',
      'crm.add_note_to_customer',
      '--agent',
      'support-bot',
      '--user',
      'alice',
      '--input',
      JSON.stringify({ customerId: 'C-1001', note }),
    ],
    { env: suiteCliEnv(h.keysDir, env) },
  );

test('airlock propose with OTEL_* set exports its proposal span before it exits', async () => {
  const run = await propose('traced from the CLI', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  expect(run.code).toBe(0);
  const id = /act-[0-9a-f]+/.exec(run.stdout)![0];
  const traces = received.filter((r) => r.path === '/v1/traces').map((r) => r.body.toString('latin1'));
  expect(traces.join('\n')).toContain('airlock.propose');
  expect(traces.join('\n')).toContain(id);
  // Identifiers only: the note (an input value) never leaves in a span.
  expect(traces.join('\n')).not.toContain('traced from the CLI');
});

test('with tracing turned off the CLI sends nothing, even with a collector configured', async () => {
  const before = received.length;
  for (const off of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }]) {
    const run = await propose('untraced from the CLI', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...off });
    expect(run.code).toBe(0);
  }
  expect(received.length).toBe(before);
});
