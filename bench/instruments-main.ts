/** The instruments process (see `instruments.ts`): the demo CRM and the timing proxy, driven over IPC. */
import { startDemoCrm } from '../stack/demo-crm/demo-crm-server';
import type { InstrumentsConfig } from './instruments';
import { startTimingProxy } from './timing-proxy';

process.once('message', (config: InstrumentsConfig) => {
  void (async () => {
    try {
      const crm = await startDemoCrm({
        token: config.crmToken,
        readToken: config.crmReadToken,
        customers: config.customers,
      });
      const proxy = await startTimingProxy(config.motoEndpoint);
      process.on('message', (m) => {
        if (m === 'calls') process.send?.({ calls: proxy.calls });
      });
      process.send?.({ ready: { crmUrl: crm.url, proxyUrl: proxy.url } });
    } catch (err) {
      process.send?.({ error: (err as Error).message });
    }
  })();
});
// The benchmark ends this process; should it die first, so does this one.
process.on('disconnect', () => process.exit(0));
