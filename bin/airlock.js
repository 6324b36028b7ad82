#!/usr/bin/env node
// The `airlock` command. Runs the TypeScript sources directly through tsx, so the checkout needs no build step; on a
// Node.js older than the project's (24), under the one `scripts/bootstrap.js` put in .tools/node, when it is there.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const { isProjectNode, toolsNodeDir } = require('../scripts/project-node');

const newer = join(toolsNodeDir(join(__dirname, '..')), 'bin', 'node');
if (!isProjectNode() && existsSync(newer)) {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(newer, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
require('tsx/cjs/api').register();
require('../client/cli/main.ts');
