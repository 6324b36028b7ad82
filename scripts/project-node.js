'use strict';
/**
 * The Node.js the project runs on, defined once for the setup (bootstrap.js), the runner (with-node.js) and the
 * command (bin/airlock.js): an LTS major, and where the setup puts it when this machine's Node is older.
 */
const { join } = require('node:path');

/** The Node.js major version the project runs on (Node 20 reached its end of life in April 2026). */
const NODE_MAJOR = 24;

/** Whether the running Node is old enough. */
const isProjectNode = () => Number(process.versions.node.split('.')[0]) >= NODE_MAJOR;

/** The directory of the Node the setup installs into .tools/ (its `bin` holds `node`). */
const toolsNodeDir = (root) => join(root, '.tools', 'node');

module.exports = { NODE_MAJOR, isProjectNode, toolsNodeDir };
