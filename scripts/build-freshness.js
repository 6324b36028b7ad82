/**
 * Whether a checkout's build may run: the one rule of the `airlock` command (bin/airlock.js) and of the built worker
 * the stack starts (stack/built-worker.ts). dist/build-info.json is written last by the build (scripts/build.js), and
 * every folder tsconfig.build.json compiles is compared with it. Plain Node with built-ins only (bin/ loads it before
 * anything else).
 */
'use strict';
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

/** A source (TypeScript, or an inbox asset) under `dir` modified after `since`, if any: the first one found. */
function newerSource(dir, since) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = newerSource(path, since);
      if (found) return found;
    } else if (/\.(ts|js|css)$/.test(entry.name) && statSync(path).mtimeMs > since) return path;
  }
  return undefined;
}

/**
 * Why the build of the checkout at `root` must not run, for `entry` (a file under dist/): `'not built'`, or
 * `'older than <source>'`; undefined when it may.
 * @param {string} root
 * @param {string} entry
 * @returns {string | undefined}
 */
function staleBuild(root, entry) {
  const stamp = join(root, 'dist', 'build-info.json');
  if (!existsSync(entry) || !existsSync(stamp)) return 'not built';
  const builtAt = statSync(stamp).mtimeMs;
  const { include } = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'));
  for (const dir of include) {
    const changed = newerSource(join(root, dir), builtAt);
    if (changed) return `older than ${relative(root, changed)}`;
  }
  return undefined;
}

module.exports = { staleBuild };
