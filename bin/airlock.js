#!/usr/bin/env node
/**
 * The `airlock` command. Runs the built JavaScript (dist/client/cli/main.js, `npm run build`), which starts in a
 * fraction of the time the TypeScript sources take through tsx.
 *
 * - Installed from the package (no sources beside it): always the build, which is all the package holds.
 * - In a git checkout: the build only when it is at least as new as every source (the folders tsconfig.build.json
 *   compiles); otherwise, never an older program than the sources, it runs the sources through tsx, as the command
 *   did before it was built, and says so on a terminal (`npm run build` makes it start at once again).
 * - On a Node.js older than the project's (24), it re-runs itself under the one `scripts/bootstrap.js` put in
 *   .tools/node, when that is there.
 * Plain Node with built-ins only.
 */
'use strict';
const { existsSync } = require('node:fs');
const { isAbsolute, join } = require('node:path');

const root = join(__dirname, '..');

/** scripts/project-node.js is in the checkout and the package; without it, this Node is taken as it is. */
function projectNode() {
  try {
    return require('../scripts/project-node');
  } catch {
    return undefined;
  }
}

const node = projectNode();
if (node && !node.isProjectNode()) {
  const newer = join(node.toolsNodeDir(root), 'bin', 'node');
  if (existsSync(newer)) {
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(newer, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}

const built = join(root, 'dist', 'client', 'cli', 'main.js');
const sources = join(root, 'client', 'cli', 'main.ts');

/**
 * Why the build of this checkout must not run (missing, unfinished, or older than a source), or undefined when it
 * may: the same rule as the built worker's (scripts/build-freshness.js, which only a checkout has).
 */
function staleBuild() {
  const why = require('../scripts/build-freshness').staleBuild(root, built);
  return why && (why === 'not built' ? 'airlock is not built' : `the build is ${why}`);
}

/**
 * V8's compile cache (Node 22.1 and later): from the second run on, the modules a command loads are not compiled
 * again, which takes about a quarter off loading the Temporal client. Kept in the user's own cache folder
 * ($XDG_CACHE_HOME, else ~/.cache), never a shared one such as /tmp, where another user could plant compiled code.
 * NODE_COMPILE_CACHE (another folder) and NODE_DISABLE_COMPILE_CACHE=1 (none) are Node's own and win.
 */
function enableCompileCache() {
  const { enableCompileCache: enable } = require('node:module');
  if (typeof enable !== 'function' || process.env.NODE_COMPILE_CACHE) return;
  const { homedir } = require('node:os');
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  try {
    enable(join(base, 'airlock', 'node-compile-cache'));
  } catch {
    // A cache folder that cannot be made only costs speed.
  }
}

const stale = existsSync(sources) ? staleBuild() : undefined;
if (!stale) {
  enableCompileCache();
  require(built);
} else {
  // Only a person is told: scripts and tests read the command's own output, which is the same either way.
  if (process.stderr.isTTY)
    process.stderr.write(
      `airlock: ${stale}: running the sources through tsx, which is slower. Run \`npm run build\` to start at once.\n`,
    );
  let tsx;
  try {
    tsx = require('tsx/cjs/api');
  } catch {
    process.stderr.write(
      `airlock: ${stale}, and tsx (a dev dependency) is not installed to run the sources: run \`npm run build\`.\n`,
    );
    process.exit(1);
  }
  tsx.register();
  require(sources);
}
