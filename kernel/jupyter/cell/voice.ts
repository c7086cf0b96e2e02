/** `%voice x.wav`: the voice prompt used for speech output until `%voice off`. */
import { PromptError, type Cell } from '../../prompt';
import type { Backend, VoicePrompt } from '../backend';
import { checkFile, fileError, resolvePath } from './files';
import { Interrupted, isAbort, type CellEmit } from './outcome';

export interface Voice {
  path: string;
  prompt: VoicePrompt;
}

/** Checks the file before `model()` loads a model, then encodes it; warnings point at the magic's argument. */
export async function loadVoice(
  cell: Cell & { voice: string },
  cwd: string,
  model: () => Promise<Backend>,
  emit: CellEmit,
  signal?: AbortSignal,
): Promise<Voice> {
  const use = cell.magics.find((m) => m.name === 'voice')!;
  const at = { line: use.line, col: use.argCol, length: cell.voice.length };
  const path = resolvePath(cwd, cell.voice);
  await checkFile(path, cell.voice, cwd, at, 'voice file');
  const backend = await model();
  let prompt: VoicePrompt;
  try {
    prompt = await backend.encodeVoice({ path }, { signal });
  } catch (e) {
    if (isAbort(e)) throw new Interrupted(`interrupted while encoding the voice prompt ${cell.voice}`);
    throw (
      fileError(e, path, cell.voice, cwd, at, 'voice file') ??
      new PromptError(`cannot use ${cell.voice} as a voice prompt: ${(e as Error).message}`, at.line, at.col, at.length)
    );
  }
  for (const w of prompt.warnings ?? []) emit.warn(`line ${use.line}, col ${use.argCol}: ${w}`);
  if (cell.action.kind === 'none')
    emit.stream('stdout', `voice: ${cell.voice} (used for speech output until %voice off)\n`);
  return { path, prompt };
}
