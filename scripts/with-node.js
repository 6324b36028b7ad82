#!/usr/bin/env node
/**
 * Runs a command under the Node.js the project runs on: this machine's when it is 24 or newer, else the one
 * `scripts/bootstrap.js` put in .tools/node (first on PATH, so `node`, `npm`, `npx`, `tsx` and `jest` all run on it).
 * Plain Node with built-ins only. Usage: node scripts/with-node.js <command> [args...]
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');
const { NODE_MAJOR, isProjectNode, toolsNodeDir } = require('./project-node');

const root = join(__dirname, '..');
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-node.js <command> [args...]');
  process.exit(2);
}
const env = { ...process.env };
const tools = join(toolsNodeDir(root), 'bin');
if (!isProjectNode()) {
  if (!existsSync(join(tools, 'node'))) {
    console.error(
      `[with-node] Node.js ${NODE_MAJOR} is needed (this is ${process.version}): run \`node scripts/bootstrap.js\` first.`,
    );
    process.exit(1);
  }
  env.PATH = `${tools}${delimiter}${env.PATH ?? ''}`;
}
const r = spawnSync(command, args, { cwd: process.cwd(), stdio: 'inherit', env });
if (r.error) {
  console.error(`[with-node] ${command}: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
