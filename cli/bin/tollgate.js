#!/usr/bin/env node
// The `tollgate` command of package.json's bin: the compiled CLI (npm run build) when there is one, else the sources through tsx.
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', '..', 'dist', 'tollgate.js');
let cli;
if (existsSync(compiled)) cli = require(compiled);
else {
  require('tsx/cjs');
  cli = require('../tollgate.ts');
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tollgate: ${(err && err.stack) || String(err)}\n`);
    process.exitCode = 1;
  },
);
