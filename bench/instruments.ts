/**
 * The benchmark's target in a process of its own: the demo CRM. In the benchmark's process its CPU would count as
 * the worker's (Airlock makes three CRM calls per action, the bare workflow one), and the measure is the worker's CPU
 * per action. (AWS calls are timed in the worker, by its AWS clients: a timing proxy in front of moto would add a
 * hop and a process to every call that the bare workflow does not pay.)
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Customer } from '../stack/demo-crm/demo-crm-server';

/** What the instruments process is started with. */
export interface InstrumentsConfig {
  crmToken: string;
  crmReadToken: string;
  customers: Customer[];
}

type Message = { ready: { crmUrl: string } } | { error: string };

/** Starts the instruments process. */
export async function startInstruments(config: InstrumentsConfig): Promise<{
  pid: number | undefined;
  crmUrl: string;
  close(): Promise<void>;
}> {
  const child: ChildProcess = fork(require.resolve('./instruments-main'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Message>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Message));
      child.once('exit', (code) => reject(new Error(`the benchmark's instruments process exited (${code})`)));
    });
  const first = next();
  child.send(config);
  const ready = await first;
  if (!('ready' in ready)) throw new Error(`the benchmark's instruments did not start: ${JSON.stringify(ready)}`);
  return {
    pid: child.pid,
    ...ready.ready,
    async close() {
      child.removeAllListeners();
      child.kill();
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    },
  };
}
