/**
 * The `vscode:uninstall` hook (bundled to dist/uninstall.js): VS Code runs it with Node once the extension is
 * fully uninstalled (not on update). It removes the Jupyter kernelspecs that point into this extension.
 */
import { removeKernelspecs } from './kernel/kernelspec-upkeep';

for (const dir of removeKernelspecs()) console.log(`anygpt-notebooks: removed the kernelspec ${dir}`);
