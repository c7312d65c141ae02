/** Locations inside the installed package, whether running from dist/ (compiled) or lib/ (tests). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'advtrain') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('advtrain: cannot find the package root from ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The package root (holds package.json, build/, scripts/). */
export const packageRoot: string = findRoot();

/** The package version from package.json. */
export const packageVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
