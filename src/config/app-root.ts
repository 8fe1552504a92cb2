import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The service's own directory, holding package.json and templates/, whether the code runs from src/
 * or from dist/ (which holds a copy of package.json but no templates). Relative template paths in the
 * configuration are resolved against it, so that the working directory does not matter.
 */
export const APP_ROOT = (() => {
  let dir = __dirname;
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates')))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
})();
