/** Where the bundled kernel is, whether we run from dist/ (bundled) or from sources under tsx. */
import { basename, join, resolve } from 'node:path';

const bundled = basename(__dirname) === 'dist';

export function kernelScriptPath(): string {
  return bundled ? join(__dirname, 'kernel.js') : resolve(__dirname, '..', '..', 'dist', 'kernel.js');
}

export function repoRootPath(): string {
  return bundled ? resolve(__dirname, '..') : resolve(__dirname, '..', '..');
}
