#!/usr/bin/env node
/**
 * `npm run build`: compiles the TypeScript into dist/ (JavaScript, declarations and source maps), removes what it
 * compiled from sources since deleted, copies the inbox's assets, and bundles the workflows once into
 * dist/workflow-bundle.js. The airlock command (bin/airlock.js) and the package (`npm pack`) run dist/. A worker started from dist/workers/main.js then
 * compiles and bundles nothing: it starts in about a second and holds ~40 MB less than one run through tsx.
 * Incremental: with nothing changed it takes a few seconds. Plain Node; run under the project's Node (with-node.js).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const bundlePath = join(dist, 'workflow-bundle.js');

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync(join(root, 'inbox', 'assets'), join(dist, 'inbox', 'assets'), { recursive: true });
pruneOrphans(dist);

/**
 * Removes what tsc wrote for sources since deleted or renamed (it never does): the package (`npm pack`) ships dist/
 * as it is, and must not carry modules that no source stands for. The bundle, the build stamp and the inbox's assets
 * are not tsc's.
 */
function pruneOrphans(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(dist, 'inbox', 'assets')) pruneOrphans(path);
      continue;
    }
    const compiled = /^(.*)\.(js|js\.map|d\.ts)$/.exec(relative(dist, path));
    if (!compiled || path === bundlePath) continue;
    if (!existsSync(join(root, `${compiled[1]}.ts`))) rmSync(path);
  }
}

/** The newest modification time of the JavaScript under `dir`, the bundle aside. */
function newestJs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestJs(path));
    else if (entry.name.endsWith('.js') && path !== bundlePath) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

async function main() {
  // Bundled again whenever tsc wrote anything: the bundle takes in more than workflows/ (common/, the failure
  // converter in crypto/), and telling which is not worth the risk of a stale one.
  if (!existsSync(bundlePath) || statSync(bundlePath).mtimeMs < newestJs(dist)) {
    const { bundleWorkflowCode } = require('@temporalio/worker');
    const { QUIET_BUNDLER_LOGGER, WORKFLOW_BUNDLE_OPTIONS } = require(join(dist, 'workers', 'workflow-bundle'));
    const { code } = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: QUIET_BUNDLER_LOGGER });
    writeFileSync(bundlePath, code);
  }
  // What the stack checks the sources against (stack/built-worker.ts): written last, once all of the above is done.
  writeFileSync(join(dist, 'build-info.json'), `${JSON.stringify({ builtAt: new Date().toISOString() })}\n`);
}

main().catch((err) => {
  console.error(`build: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
