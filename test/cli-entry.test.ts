/**
 * bin/airlock.js runs the build, and never a build older than the sources: in a checkout whose build is missing or
 * stale it runs the sources through tsx (and says so only on a terminal); installed from the package, where there are
 * no sources, it runs the build as it is. Each case is a copy of the command in a folder of its own, with a "build"
 * and "sources" that print which of them ran.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/dev-config';

interface Layout {
  built?: boolean;
  sources?: boolean;
  /** node_modules (for tsx) linked in. */
  modules?: boolean;
}

/** A copy of the command: bin/, scripts/project-node.js and build-freshness.js, and what `layout` asks for, all a minute old. */
function checkout(layout: Layout): string {
  const root = mkdtempSync(join(tmpdir(), 'airlock-entry-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(REPO_ROOT, 'bin', 'airlock.js'), join(root, 'bin', 'airlock.js'));
  copyFileSync(join(REPO_ROOT, 'scripts', 'project-node.js'), join(root, 'scripts', 'project-node.js'));
  copyFileSync(join(REPO_ROOT, 'scripts', 'build-freshness.js'), join(root, 'scripts', 'build-freshness.js'));
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ include: ['client'] }));
  const past = new Date(Date.now() - 60_000);
  if (layout.sources) {
    mkdirSync(join(root, 'client', 'cli'), { recursive: true });
    const main = join(root, 'client', 'cli', 'main.ts');
    writeFileSync(main, "const ran: string = 'sources';\nconsole.log(ran, process.argv.slice(2).join(' '));\n");
    utimesSync(main, past, past);
  }
  if (layout.built) {
    mkdirSync(join(root, 'dist', 'client', 'cli'), { recursive: true });
    writeFileSync(
      join(root, 'dist', 'client', 'cli', 'main.js'),
      "console.log('built', process.argv.slice(2).join(' '));\n",
    );
    writeFileSync(join(root, 'dist', 'build-info.json'), '{}\n');
  }
  if (layout.modules) symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

function airlock(root: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [join(root, 'bin', 'airlock.js'), ...args],
      { env: { ...process.env, XDG_CACHE_HOME: join(root, 'cache') } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test('a checkout whose build is newer than every source runs the build, with its arguments', async () => {
  const root = checkout({ built: true, sources: true, modules: true });
  expect(await airlock(root, 'pending', '--json')).toEqual({ code: 0, stdout: 'built pending --json\n', stderr: '' });
});

test('a source changed after the build: the sources run, through tsx, and nothing is said off a terminal', async () => {
  const root = checkout({ built: true, sources: true, modules: true });
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'client', 'cli', 'main.ts'), later, later);
  expect(await airlock(root, 'tasks')).toEqual({ code: 0, stdout: 'sources tasks\n', stderr: '' });
});

test('a checkout never built runs the sources', async () => {
  const root = checkout({ sources: true, modules: true });
  expect(await airlock(root, '--help')).toMatchObject({ code: 0, stdout: 'sources --help\n' });
});

test('a stale build without tsx to run the sources: exit 1, saying to build', async () => {
  const root = checkout({ sources: true });
  const r = await airlock(root, 'tasks');
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('airlock is not built, and tsx (a dev dependency) is not installed');
  expect(r.stderr).toContain('npm run build');
});

test('installed from the package (no sources): the build runs as it is, however old', async () => {
  const root = checkout({ built: true });
  const past = new Date(Date.now() - 86_400_000);
  utimesSync(join(root, 'dist', 'build-info.json'), past, past);
  expect(await airlock(root, 'tasks')).toEqual({ code: 0, stdout: 'built tasks\n', stderr: '' });
});

test('installed without scripts/project-node.js: still runs', async () => {
  const root = checkout({ built: true });
  // The package ships it; a copy of the command without it must not fail for that.
  rmSync(join(root, 'scripts'), { recursive: true });
  expect(await airlock(root, '--help')).toEqual({ code: 0, stdout: 'built --help\n', stderr: '' });
});
