/** Where the bundled kernel and the repository are, whether we run from dist/ (bundled) or from sources under tsx. */
import { basename, join, resolve } from 'node:path';

const bundled = basename(__dirname) === 'dist';

/** dist/kernel.js (from sources: the bundle beside the repository). */
export function kernelScriptPath(): string {
  return bundled ? join(__dirname, 'kernel.js') : resolve(__dirname, '..', '..', 'dist', 'kernel.js');
}

/** The folder that holds dist/ and models/. */
export function repoRootPath(): string {
  return bundled ? resolve(__dirname, '..') : resolve(__dirname, '..', '..');
}
