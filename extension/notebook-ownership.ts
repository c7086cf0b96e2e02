/** Which notebooks are ours, the metadata we stamp on them, and when to claim one from the Jupyter extension. */
import { KERNEL_NAME, LANGUAGE_ID } from './identifiers';

/** Is a notebook meant for our kernel? Read from its kernelspec / language_info (both .ipynb layouts). */
export function isAnyGptNotebook(metadata: Record<string, unknown> | undefined): boolean {
  if (!metadata) return false;
  // VS Code's ipynb serializer keeps notebook metadata either at the top level or under custom.metadata.
  const md = ((metadata.custom as { metadata?: Record<string, unknown> } | undefined)?.metadata ??
    metadata.metadata ??
    metadata) as Record<string, unknown>;
  const spec = md.kernelspec as { name?: string; language?: string } | undefined;
  const lang = md.language_info as { name?: string } | undefined;
  return (
    spec?.name === KERNEL_NAME ||
    spec?.name?.startsWith(`${KERNEL_NAME}-`) === true ||
    spec?.language === LANGUAGE_ID ||
    lang?.name === LANGUAGE_ID
  );
}

/** Notebook metadata to stamp on a notebook created or taken over by our controller. */
export const NOTEBOOK_METADATA = {
  kernelspec: { name: KERNEL_NAME, display_name: 'AnyGPT', language: LANGUAGE_ID },
  language_info: { name: LANGUAGE_ID, mimetype: 'text/x-anygpt', file_extension: '.anygpt' },
};

/**
 * Whether to bind an AnyGPT notebook to our controller explicitly (notebook.selectKernel) when it is shown.
 * Only when the Jupyter extension is installed: then its kernel for our kernelspec is Preferred as well, a tie
 * VS Code settles by asking. Once per notebook and session, and never after the user picked another kernel for it.
 */
export function shouldClaimNotebook(s: {
  ours: boolean;
  jupyterExtension: boolean;
  selectedHere: boolean;
  claimedThisSession: boolean;
  userChoseOther: boolean;
}): boolean {
  return s.ours && s.jupyterExtension && !s.selectedHere && !s.claimedThisSession && !s.userChoseOther;
}
