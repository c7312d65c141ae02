#!/usr/bin/env node
// Lists the C++ sources for binding.gyp (gyp cannot glob); CMake globs the same folder.
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.cc')) out.push(relative(root, p));
  }
})(join(root, 'native'));
console.log(out.sort().join('\n'));
