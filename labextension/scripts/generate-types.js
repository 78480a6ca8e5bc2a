#!/usr/bin/env node
/*
 * Write src/generated/answers.ts, the types of the server's JSON answers, from their Python
 * definitions (`python -m nbmlops.server.typescript`, run on the source tree beside this
 * folder). A build whose Python cannot import nbmlops' dependencies keeps the committed file:
 * the test suite fails when that file is not current, so it is what the generator writes.
 */
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { pythons } = require('./pythons');

const root = path.resolve(__dirname, '..', '..');
const env = {
  ...process.env,
  PYTHONPATH: [root, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter)
};
const tried = [];
for (const python of pythons()) {
  const done = spawnSync(python, ['-m', 'nbmlops.server.typescript', '--root', root], {
    cwd: root,
    env,
    encoding: 'utf8'
  });
  if (done.status === 0) {
    process.stdout.write(done.stdout);
    process.exit(0);
  }
  const why = done.error ? String(done.error) : (done.stderr || '').trim().split('\n').pop();
  tried.push(`${python}: ${why}`);
}
console.warn(
  'generate-types: kept the committed src/generated/answers.ts; no Python could run the ' +
    `generator:\n  ${tried.join('\n  ')}`
);
