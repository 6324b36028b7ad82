import { join } from 'node:path';
import { REPO_ROOT } from './dev-config';

/**
 * The built worker (`dist/workers/main.js` under the checkout `root`, which starts from the workflow bundle built
 * beside it; see scripts/build.js), for the local stack, the fault suite and the load benchmark to run as a process.
 *
 * Must not hand out a build older than the sources: a worker started from it would run code other than the one under
 * test. Throws, saying to run `npm run build`, when the build is missing or a source changed after it.
 */
export function builtWorkerEntry(root = REPO_ROOT): string {
  const entry = join(root, 'dist', 'workers', 'main.js');
  // The command's rule (required by path from the repository: this module also runs compiled, from dist/stack).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { staleBuild } = require(
    join(REPO_ROOT, 'scripts', 'build-freshness.js'),
  ) as typeof import('../scripts/build-freshness');
  const stale = staleBuild(root, entry);
  if (stale === 'not built')
    throw new Error('The worker is not built: run `npm run build` (npm start and the test commands do so themselves).');
  if (stale)
    throw new Error(
      `The built worker is ${stale}: run \`npm run build\` (npm start and the test commands do so themselves).`,
    );
  return entry;
}
