/**
 * The cell plan: what a generating cell asks of the model, decided before the model runs. Pure (no model,
 * no files, no clock), so every rule below is unit-tested directly: %config defaults under the cell's
 * magics, the preset of the output modality under both, %temperature 0 as greedy, the seed, and the
 * prompt string with its media token strings and conversation context.
 */
import type { GenerationParams } from '../../../common/generation';
import type { Manifest, Modality } from '../../../common/manifest';
import type { CellContext } from '../../../common/output-payloads';
import {
  CONFIG_KEYS,
  PromptError,
  SETTING_OF,
  TASK_OUTPUT,
  basePrompt,
  cellSeed,
  chatPrompt,
  chatUserMessage,
  forceOutputStart,
  type Cell,
  type CellSettings,
  type ConfigKey,
  type MagicValue,
  type MediaRef,
  type OverflowPolicy,
  type PromptMedia,
  type Task,
  type Turn,
} from '../../prompt';

/** `%config` persistent defaults, by config key. `seed` here is the notebook seed. */
export type CellDefaults = Partial<Record<ConfigKey, MagicValue>>;

/** A media reference of the cell with its token string. */
export type PlannedMedia = PromptMedia & { ref: MediaRef };

export interface CellPlan {
  task: Task;
  outputModality: Modality;
  /** The exact prompt string given to the tokenizer. */
  prompt: string;
  params: GenerationParams;
  seed: number;
  /** True when the seed came from %seed. */
  seedExplicit: boolean;
  notebookSeed: number;
  /** What the tokens output records about the prompt (task, context turns, cell id). */
  context: CellContext;
  /** A chat turn: on success it joins the conversation as `userMessage`. */
  chatTurn?: { userMessage: string };
  /** What a chat turn does when it outgrows the model's context (%overflow; default error). */
  overflow: OverflowPolicy;
  /**
   * Execution counts of the conversation's oldest turns this prompt leaves out to fit the context (%overflow
   * drop-oldest); they stay in the conversation. Set by the executor, which alone can count tokens.
   */
  droppedTurns?: number[];
  /** What the user should know about the prompt (e.g. a modality token string that is not in the vocabulary). */
  warnings: string[];
}

export interface PlanInput {
  cell: Cell;
  /** The cell's source: with the notebook seed it gives the seed of a cell without %seed. */
  source: string;
  defaults: CellDefaults;
  manifest: Manifest;
  cellId?: string;
  /** The cell's media references, in order, as token strings. */
  media: readonly PlannedMedia[];
  /** The conversation turns this cell sees if it is a chat cell. */
  history: readonly Turn[];
}

/** The cell's settings: its magics over the %config defaults; the task defaults to chat. */
export function cellSettings(cell: Cell, defaults: CellDefaults): CellSettings & { task: Task } {
  const fromConfig: Record<string, MagicValue> = {};
  // `%config seed=N` is the notebook seed, not a cell's seed: cells derive theirs from it (cellSeed).
  for (const key of CONFIG_KEYS)
    if (key !== 'seed' && defaults[key] !== undefined) fromConfig[SETTING_OF[key]] = defaults[key];
  const merged: CellSettings = { ...(fromConfig as CellSettings), ...stripUndefined(cell.settings) };
  return { ...merged, task: merged.task ?? 'chat' };
}

export function planCell(input: PlanInput): CellPlan {
  const { cell, manifest, media } = input;
  const settings = cellSettings(cell, input.defaults);
  const task = settings.task;
  const templateName = settings.template ?? manifest.templates.defaultChat;
  const context: CellContext = { task, cellId: input.cellId };
  let prompt: string;
  let chatTurn: CellPlan['chatTurn'];
  if (cell.raw) {
    prompt = substituteMedia(cell.body, media);
    context.task = 'raw';
  } else if (task === 'chat') {
    if (!cell.text && !media.length) throw new PromptError('empty message', cell.bodyLine, 1);
    const userMessage = chatUserMessage(cell.text, [...media]);
    prompt = chatPrompt(manifest.templates.chat[templateName], input.history, userMessage);
    context.contextTurns = input.history.map((t) => t.executionCount);
    chatTurn = { userMessage };
  } else {
    prompt = basePrompt(manifest, task, cell.text, [...media], cell.bodyLine, {
      forceOutput: forceOutputStart(manifest, settings.constrain),
    });
  }

  const outputModality: Modality = cell.raw ? 'text' : TASK_OUTPUT[task];
  const notebookSeed = (input.defaults.seed as number | undefined) ?? 0;
  const seed = settings.seed ?? cellSeed(notebookSeed, input.source);
  // A chat turn takes the package's chat preset where it has one (a converted AnyGPT: upstream's chat config).
  const p = (task === 'chat' && !cell.raw && manifest.presets.chat) || manifest.presets[outputModality];
  const params: GenerationParams = {
    ...p,
    // %temperature 0 means greedy; the engine wants temperature > 0, so keep the preset's value.
    temperature: settings.temperature ? settings.temperature : p.temperature,
    doSample: settings.temperature === 0 ? false : p.doSample,
    topK: settings.topK ?? p.topK,
    topP: settings.topP ?? p.topP,
    repetitionPenalty: settings.repetitionPenalty ?? p.repetitionPenalty,
    maxNewTokens: settings.maxNewTokens ?? p.maxNewTokens,
    numBeams: settings.numBeams ?? p.numBeams,
    seed,
    constrain: settings.constrain ?? true,
    preset: outputModality,
    template: task === 'chat' ? templateName : cell.raw ? 'raw' : 'base',
  };
  return {
    task,
    outputModality,
    prompt,
    params,
    seed,
    seedExplicit: settings.seed !== undefined,
    notebookSeed,
    context,
    chatTurn,
    overflow: settings.overflow ?? 'error',
    warnings: unknownModalityTokens(prompt, manifest),
  };
}

/**
 * Modality token strings in the prompt that the vocabulary lacks (`<👀999999>` past the codebook, `<👀007>` not
 * written as the tokenizer writes it): the tokenizer silently splits them into text pieces, so the model sees
 * something else than the user meant. Each one gets a warning with the valid range.
 */
export function unknownModalityTokens(prompt: string, manifest: Manifest): string[] {
  const out: string[] = [];
  for (const [modality, m] of Object.entries(manifest.modalities)) {
    if (!m) continue;
    const { prefix, size } = m.tokens;
    const re = new RegExp(`<${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)>`, 'gu');
    for (const [token, digits] of prompt.matchAll(re)) {
      if (String(Number(digits)) === digits && Number(digits) < size) continue;
      const w =
        `${token} is not a vocabulary token (${modality} tokens are <${prefix}0> … <${prefix}${size - 1}>); ` +
        'it is tokenized as plain text';
      if (!out.includes(w)) out.push(w);
    }
  }
  return out;
}

/** %raw: each media reference is replaced in place by its token string. */
function substituteMedia(body: string, media: readonly PlannedMedia[]): string {
  let prompt = body;
  for (const m of [...media].sort((a, b) => b.ref.offset - a.ref.offset))
    prompt = prompt.slice(0, m.ref.offset) + m.tokens + prompt.slice(m.ref.offset + m.ref.length);
  return prompt;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
