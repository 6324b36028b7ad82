import { dirname, join } from 'node:path';
import { startChildService, type ChildService } from '../../stack/child-service';
import { freePort } from '../../stack/free-port';
import { motoServerPath } from '../../stack/tools';

/**
 * A moto server that serves one request at a time, for tests of concurrent DynamoDB transactions.
 *
 * `moto_server` serves each request on its own thread, and its `TransactWriteItems` has no isolation: it checks the
 * conditions and writes item by item while other requests run, and a cancelled transaction puts back a copy of the
 * whole table taken when it began, undoing what other transactions committed meanwhile (measured here: 150 appends
 * from three writers lost committed records in three runs of four). DynamoDB itself runs transactions serializably.
 * Serving one request at a time gives moto that isolation; the writers still race each other between their requests,
 * which is what the tests are about.
 */
export async function startSerialMoto(): Promise<ChildService & { endpoint: string }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const service = await startChildService({
    name: 'moto (one request at a time)',
    command: join(dirname(motoServerPath()), 'python'),
    args: [
      '-c',
      [
        'import sys',
        'from werkzeug.serving import run_simple',
        'from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app',
        "run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)",
      ].join('\n'),
      String(port),
    ],
    url: endpoint,
    ready: async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok,
  });
  return { ...service, endpoint };
}
