/**
 * Turning a dropped or pasted file into a prompt media link (`![image](…)`, `![speech](…)`,
 * `![music](…)`). Pure path logic; the vscode side does the copying.
 */
import { basename, extname, isAbsolute, join, relative, sep } from 'node:path';

export type LinkModality = 'image' | 'speech' | 'music';

const IMAGE = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff']);
const AUDIO = new Set(['.wav', '.mp3', '.flac', '.ogg', '.oga', '.m4a', '.aac', '.opus']);
const MUSIC_HINT = /music|song|melod|tune|track|piano|guitar|beat|chord|drum/i;

/** Candidate modalities for a file, most likely first (audio may be speech or music: both are offered). */
export function modalitiesForFile(name: string): LinkModality[] {
  const ext = extname(name).toLowerCase();
  if (IMAGE.has(ext)) return ['image'];
  if (AUDIO.has(ext)) return MUSIC_HINT.test(basename(name)) ? ['music', 'speech'] : ['speech', 'music'];
  return [];
}

export function mediaLink(modality: LinkModality, target: string): string {
  return `![${modality}](${target})`;
}

export function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!!r && !r.startsWith('..') && !isAbsolute(r));
}

/** A target the prompt parser accepts: no `)` or newline (they end the link), forward slashes. */
export function safeName(name: string): string {
  return name.replace(/[()\n\r[\]]/g, '_');
}

export interface Placement {
  /** Link target, relative to the notebook folder, with `/` separators. */
  target: string;
  /** Where to copy the file first, when it is not already under the notebook folder. */
  copyTo?: string;
}

/**
 * Files inside the notebook's folder are linked where they are; anything else (another folder, the
 * desktop, a pasted clipboard image) is copied into `<notebook folder>/media/`, so a notebook and
 * its media travel together and links never point outside the workspace.
 */
export function placeMedia(notebookDir: string, file: string, exists: (p: string) => boolean): Placement {
  if (isInside(notebookDir, file) && !/[()\n\r[\]]/.test(relative(notebookDir, file))) {
    return { target: relative(notebookDir, file).split(sep).join('/') };
  }
  return placeBytes(notebookDir, basename(file), exists);
}

/**
 * Bytes with no file behind them (a clipboard image, a file dropped from the OS into the browser) always go to
 * `<notebook folder>/media/<name>`, under a name no existing file has (`image-1.png`, `image-2.png`, …).
 */
export function placeBytes(
  notebookDir: string,
  name: string,
  exists: (p: string) => boolean,
): Placement & {
  copyTo: string;
} {
  const base = safeName(basename(name.replace(/\\/g, '/')) || 'pasted');
  const ext = extname(base);
  const stem = base.slice(0, base.length - ext.length);
  let candidate = join(notebookDir, 'media', base);
  for (let i = 1; exists(candidate); i++) candidate = join(notebookDir, 'media', `${stem}-${i}${ext}`);
  return { target: `media/${basename(candidate)}`, copyTo: candidate };
}
