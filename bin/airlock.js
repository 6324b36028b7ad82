#!/usr/bin/env node
// The `airlock` command. Runs the TypeScript sources directly through tsx, so the checkout needs no build step.
require('tsx/cjs/api').register();
require('../client/cli/main.ts');
