import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/dev-config';

/**
 * The committed package-lock.json is what `npm ci` installs (scripts/bootstrap.js, and so CI): it must hold every
 * platform's optional binaries, not only this machine's (npm 11 once wrote locks without them, which `npm ci` then
 * refused on a clean clone), and agree with package.json.
 */

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  os?: string[];
  cpu?: string[];
}
type Lock = { lockfileVersion: number; packages: Record<string, LockEntry> };

const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as T;

/** Where Node would find `name` from the package at `from` (its own node_modules, then each one above). */
function resolveIn(packages: Lock['packages'], from: string, name: string): string | undefined {
  for (let dir = from; ;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up >= 0 ? dir.slice(0, up) : '';
  }
}

/** Every dependency of every locked package that the lock does not hold: `<package> -> <name> (<kind>)`. */
function missingFromLock(lock: Lock): string[] {
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link) continue;
    const wanted: [string, string][] = [
      ...Object.keys(entry.dependencies ?? {}).map((n): [string, string] => [n, 'dependency']),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n): [string, string] => [n, 'optional']),
      ...Object.keys(entry.peerDependencies ?? {})
        .filter((n) => !entry.peerDependenciesMeta?.[n]?.optional)
        .map((n): [string, string] => [n, 'peer']),
    ];
    for (const [name, kind] of wanted)
      if (!resolveIn(lock.packages, path, name)) missing.push(`${path} -> ${name} (${kind})`);
  }
  return missing;
}

const lock = readJson<Lock>('package-lock.json');

test('every dependency of every locked package is in the lock, every platform’s optional binaries included', () => {
  expect(lock.lockfileVersion).toBe(3);
  expect(missingFromLock(lock)).toEqual([]);
  // The platform packages of the native tools the project installs: more than this machine's one.
  const platforms = (prefix: string) => Object.keys(lock.packages).filter((p) => p.startsWith(prefix)).length;
  expect(platforms('node_modules/@swc/core-')).toBeGreaterThanOrEqual(10);
  expect(platforms('node_modules/@esbuild/')).toBeGreaterThanOrEqual(20);
});

test('the check finds a platform binary left out, as npm 11 once left them out', () => {
  const packages = { ...lock.packages };
  const dropped = Object.keys(packages).find((p) => p.startsWith('node_modules/@swc/core-darwin'));
  expect(dropped).toBeDefined();
  delete packages[dropped as string];
  expect(missingFromLock({ ...lock, packages })).toEqual([
    expect.stringContaining(`-> ${(dropped as string).slice('node_modules/'.length)} (optional)`),
  ]);
});

test('the lock agrees with package.json, and pins every download by its hash', () => {
  const pkg = readJson<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>(
    'package.json',
  );
  const root = lock.packages[''];
  expect(root.dependencies).toEqual(pkg.dependencies);
  expect(root.devDependencies).toEqual(pkg.devDependencies);
  const unpinned = Object.entries(lock.packages).filter(([path, e]) => path !== '' && !e.link && !e.integrity);
  expect(unpinned.map(([path]) => path)).toEqual([]);
});
