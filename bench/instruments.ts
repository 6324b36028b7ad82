/**
 * The benchmark's target and instruments in a process of their own: the demo CRM and the timing proxy in front of
 * moto. In the benchmark's process their CPU would count as the worker's (Airlock makes four AWS calls and two CRM
 * calls per action, the bare workflow one CRM call), and the measure is the worker's CPU per action.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Customer } from '../stack/demo-crm/demo-crm-server';
import type { AwsCall } from './timing-proxy';

/** What the instruments process is started with. */
export interface InstrumentsConfig {
  motoEndpoint: string;
  crmToken: string;
  crmReadToken: string;
  customers: Customer[];
}

type Message = { ready: { crmUrl: string; proxyUrl: string } } | { calls: AwsCall[] } | { error: string };

/** Starts the instruments process; `calls()` fetches the AWS calls the proxy has timed so far. */
export async function startInstruments(config: InstrumentsConfig): Promise<{
  pid: number | undefined;
  crmUrl: string;
  proxyUrl: string;
  calls(): Promise<AwsCall[]>;
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
    async calls() {
      const answer = next();
      child.send('calls');
      const m = await answer;
      if (!('calls' in m)) throw new Error(`the instruments process answered ${JSON.stringify(m)}`);
      return m.calls;
    },
    async close() {
      child.removeAllListeners();
      child.kill();
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    },
  };
}
