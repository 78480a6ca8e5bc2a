#!/usr/bin/env node
/*
 * Build the prebuilt labextension offline.
 *
 * `jupyter labextension build` fetches @jupyterlab/core-meta from the network; the builder in
 * the npm package @jupyterlab/builder does not, but needs JupyterLab's core package folder
 * (`<site-packages>/jupyterlab/staging`). It comes from, in order: JUPYTERLAB_CORE_PATH; the
 * site-packages of the `jlpm` running this script (its yarn.js is `npm_execpath`); the Python
 * that runs the tools of this build (the interpreter of `jlpm` / `jupyter` on PATH, which is
 * pip's isolated build environment under `pip install`); `python3`; `python`.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { pythons } = require('./pythons');

const PROBE =
  'import os, jupyterlab; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))';

/** The yarn.js running this script: yarn puts a shim naming it at npm_execpath. */
function runningYarnJs() {
  const shim = process.env.npm_execpath;
  if (!shim) {
    return null;
  }
  if (shim.endsWith('.js')) {
    return shim;
  }
  try {
    const match = /['"]([^'"]+yarn[^'"]*\.c?js)['"]/.exec(fs.readFileSync(shim, 'utf8'));
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

function corePath() {
  if (process.env.JUPYTERLAB_CORE_PATH) {
    return process.env.JUPYTERLAB_CORE_PATH;
  }
  const yarnJs = runningYarnJs();
  if (yarnJs) {
    // jlpm runs <site-packages>/jupyter_builder/yarn.js (older: jupyterlab/staging/yarn.js).
    for (const up of ['..', '.']) {
      const staging = path.resolve(path.dirname(yarnJs), up, 'jupyterlab', 'staging');
      if (fs.existsSync(path.join(staging, 'package.json'))) {
        return staging;
      }
    }
  }
  for (const python of pythons()) {
    try {
      const out = execFileSync(python, ['-c', PROBE], { encoding: 'utf8' }).trim();
      if (fs.existsSync(path.join(out, 'package.json'))) {
        return out;
      }
    } catch {
      /* this interpreter has no jupyterlab */
    }
  }
  throw new Error('JupyterLab not found: pip install jupyterlab, or set JUPYTERLAB_CORE_PATH');
}

const builder = require.resolve('@jupyterlab/builder/lib/build-labextension.js');
const args = [builder, '--core-path', corePath(), ...process.argv.slice(2), '.'];
execFileSync(process.execPath, args, { stdio: 'inherit' });
