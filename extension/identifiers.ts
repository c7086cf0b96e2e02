/** The names VS Code and Jupyter know us by. */

/** Our kernelspec's name (and the prefix of the ones `anygpt-kernel install --name` writes). */
export const KERNEL_NAME = 'anygpt';
/** Our NotebookController's id; VS Code's `notebookKernel` context key is `<publisher>.<name>/<this>`. */
export const CONTROLLER_ID = 'anygpt-local';
export const LANGUAGE_ID = 'anygpt';
/** The Jupyter extension. When it is installed and our kernelspec is installed too, it lists "AnyGPT" as well. */
export const JUPYTER_EXTENSION_ID = 'ms-toolsai.jupyter';
