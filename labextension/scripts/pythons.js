/*
 * The Python interpreters a build step may use, most likely first: those of the `jlpm` and
 * `jupyter` on PATH (pip's isolated build environment under `pip install`, the project's
 * virtual environment under `make`), then `python3` and `python`.
 */
'use strict';
const fs = require('fs');
const path = require('path');

function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

function shebangPython(script) {
  try {
    const first = fs.readFileSync(script, 'utf8').split('\n', 1)[0];
    const match = /^#!\s*(\S+python[\d.]*)\s*$/.exec(first);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

function pythons() {
  const found = [];
  for (const tool of ['jlpm', 'jupyter']) {
    const script = which(tool);
    const python = script && shebangPython(script);
    if (python) {
      found.push(python);
    }
  }
  return [...found, 'python3', 'python'];
}

module.exports = { pythons };
