/** Is a notebook meant for our kernel? Read from its kernelspec / language_info (both .ipynb layouts). */
export const KERNEL_NAME = 'anygpt';
/** Our NotebookController's id; VS Code's `notebookKernel` context key is `<publisher>.<name>/<this>`. */
export const CONTROLLER_ID = 'anygpt-local';
export const LANGUAGE_ID = 'anygpt';

export function isAnyGptNotebook(metadata: Record<string, unknown> | undefined): boolean {
  if (!metadata) return false;
  // VS Code's ipynb serializer keeps notebook metadata either at the top level or under custom.metadata.
  const md = ((metadata.custom as { metadata?: Record<string, unknown> } | undefined)?.metadata ?? metadata.metadata ?? metadata) as Record<string, unknown>;
  const spec = md.kernelspec as { name?: string; language?: string } | undefined;
  const lang = md.language_info as { name?: string } | undefined;
  return spec?.name === KERNEL_NAME || spec?.name?.startsWith(`${KERNEL_NAME}-`) === true || spec?.language === LANGUAGE_ID || lang?.name === LANGUAGE_ID;
}

/** Notebook metadata to stamp on a notebook created or taken over by our controller. */
export const NOTEBOOK_METADATA = {
  kernelspec: { name: KERNEL_NAME, display_name: 'AnyGPT', language: LANGUAGE_ID },
  language_info: { name: LANGUAGE_ID, mimetype: 'text/x-anygpt', file_extension: '.anygpt' },
};
