import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
  const stamp = join(root, 'dist', 'build-info.json');
  if (!existsSync(entry) || !existsSync(stamp))
    throw new Error('The worker is not built: run `npm run build` (npm start and the test commands do so themselves).');
  const builtAt = statSync(stamp).mtimeMs;
  // The folders the build compiles, as tsconfig.build.json names them.
  const { include } = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const changed = include.map((dir) => newerSource(join(root, dir), builtAt)).find(Boolean);
  if (changed)
    throw new Error(
      `The built worker is older than ${relative(root, changed)}: run \`npm run build\` (npm start and the test commands do so themselves).`,
    );
  return entry;
}

/** A TypeScript source (or inbox asset) under `dir` modified after `since`, if any. */
function newerSource(dir: string, since: number): string | undefined {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = newerSource(path, since);
      if (found) return found;
    } else if (/\.(ts|js|css)$/.test(entry.name) && statSync(path).mtimeMs > since) return path;
  }
  return undefined;
}
