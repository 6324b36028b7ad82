/** The instruments process (see `instruments.ts`): the demo CRM, driven over IPC. */
import { startDemoCrm } from '../stack/demo-crm/demo-crm-server';
import type { InstrumentsConfig } from './instruments';

process.once('message', (config: InstrumentsConfig) => {
  void (async () => {
    try {
      const crm = await startDemoCrm({
        token: config.crmToken,
        readToken: config.crmReadToken,
        customers: config.customers,
      });
      process.send?.({ ready: { crmUrl: crm.url } });
    } catch (err) {
      process.send?.({ error: (err as Error).message });
    }
  })();
});
// The benchmark ends this process; should it die first, so does this one.
process.on('disconnect', () => process.exit(0));
