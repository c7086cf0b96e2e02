/**
 * Runs one cell, as the README's data flow: parse → media → plan (prompt + parameters) → generate with a
 * streaming display → spans to outputs → remember. Holds the kernel's session state (model, %config
 * defaults, conversation, earlier outputs, voice). Knows nothing of ZeroMQ: it talks to the protocol
 * layer through `Emit`, so it is testable alone. The steps live in ./cell/.
 */
import type { Generation } from '../../common/generation';
import {
  Conversation,
  assistantMessage,
  helpText,
  mediaTokenString,
  parseCell,
  parseModalityTokens,
  unknownWordWarnings,
} from '../prompt';
import type { Cell, MediaCodes, Turn } from '../prompt';
import type { Backend, BackendFactory, ModelDescription } from './backend';
import { tokensBundle } from './mime-bundles';
import { checkCellSize, isDecodeCell, UNCHECKED_CELL_CHARS } from './cell/cell-size';
import { resolvePath } from './cell/files';
import { decodeWithProgress, showMedia } from './cell/media-display';
import { MediaOutputs, checkMediaFiles, encodeMediaFile } from './cell/media-inputs';
import { cellMetadata, decodeMetadata, type Timings } from './cell/metadata';
import { ModelSlot } from './cell/model-slot';
import {
  checkInterrupt,
  Interrupted,
  errorOutcome,
  withWarnings,
  type CellEmit,
  type Emit,
  type Outcome,
} from './cell/outcome';
import { cellSettings, planCell, type CellDefaults, type CellPlan, type PlannedMedia } from './cell/plan';
import { describeConfig, describeContext, describeHistory, turnNotAddedNote } from './cell/session-report';
import { generationSummary, showGeneratedMedia } from './cell/span-outputs';
import { StreamingDisplay, type StatusLine } from './cell/streaming-display';
import type { LiveLine } from './cell/live-line';
import { loadVoice, type Voice } from './cell/voice';

export { KERNEL_VERSION } from './cell/metadata';
export { Interrupted, errorOutcome, type Emit, type Outcome } from './cell/outcome';

export interface RunContext {
  executionCount: number;
  cellId?: string;
  signal: AbortSignal;
  /** Directory media paths are relative to (the notebook's). */
  cwd: string;
}

/** What one generating cell has in hand once its plan is made. */
interface Planned {
  cell: Cell;
  plan: CellPlan;
  backend: Backend;
  model: ModelDescription;
  timings: Timings;
}

export class CellExecutor {
  private readonly models: ModelSlot;
  private readonly conversation = new Conversation();
  private readonly outputs = new MediaOutputs();
  private voice?: Voice;
  /** `%config` persistent defaults. `seed` here is the notebook seed. */
  private readonly defaults: CellDefaults = {};

  constructor(
    modelDir: string | undefined,
    open: BackendFactory,
    opts: { executionProvider?: 'cpu' | 'cuda'; log: (s: string) => void },
  ) {
    this.models = new ModelSlot(modelDir, open, opts.executionProvider);
  }

  get loadedModel(): ModelDescription | undefined {
    return this.models.loaded;
  }

  get currentModelDir(): string | undefined {
    return this.models.modelDir;
  }

  get history() {
    return this.conversation.all();
  }

  /** The task a cell without %task runs (for completion): the %config default, else chat. */
  defaultTask(): string {
    return String(this.defaults.task ?? 'chat');
  }

  /** Execution counts whose media can be reused with out:N (for completion). */
  mediaOutputs(): number[] {
    return this.outputs.cells();
  }

  /** For inspect: how a line tokenizes under the current model. */
  async describeTokens(line: string): Promise<string> {
    const backend = await this.models.get();
    const g = await backend.tokenize(line);
    const manifest = backend.describeModel().manifest;
    const toks = g.tokens.filter((t) => t.piece !== manifest.tokenizer.bos);
    const shown = toks.slice(0, 200).map((t) => `${JSON.stringify(t.piece)}=${t.id}`);
    return `${toks.length} tokens (${backend.describeModel().name}):\n${shown.join(' ')}${toks.length > 200 ? ' …' : ''}`;
  }

  /** For inspect: the context a chat cell run now would see. */
  describeContext(): string {
    return describeContext(this.conversation.all(), this.defaults);
  }

  async close(): Promise<void> {
    await this.models.close();
  }

  async run(source: string, ctx: RunContext, emit: Emit): Promise<Outcome> {
    const t0 = performance.now();
    const cellEmit = withWarnings(emit, `anygpt-${ctx.executionCount}-${Date.now().toString(36)}-status`);
    try {
      return await this.runCell(source, ctx, cellEmit, t0);
    } catch (e) {
      return errorOutcome(e);
    } finally {
      // A cell that only loaded the model (%tokens, %voice, a failed load) leaves no progress bar behind.
      cellEmit.status.clearLoad();
    }
  }

  private async runCell(source: string, ctx: RunContext, emit: CellEmit, t0: number): Promise<Outcome> {
    if (source.length > UNCHECKED_CELL_CHARS) {
      // Bounded before parsing: a huge cell would hold the main thread (heartbeats, interrupts) for seconds.
      const limit = isDecodeCell(source) ? undefined : (await this.models.get(emit.status)).describeModel().promptLimit;
      checkCellSize(source, limit);
    }
    const cell = parseCell(source);
    const timings: Timings = { parse: performance.now() - t0 };
    await this.applySessionMagics(cell, ctx, emit, timings);
    if (cell.action.kind !== 'generate' && cell.action.kind !== 'tokens')
      return this.runCommand(cell, ctx, emit, timings, t0);

    const planned = await this.plan(cell, source, ctx, emit, timings);
    if (cell.action.kind === 'tokens') return this.showTokens(planned, ctx, emit, t0);
    this.warnOutsideWorld(planned, emit);
    const { g, display } = await this.generate(planned, ctx, emit);
    const produced = await this.showSpans(g, planned, ctx, emit, display);
    planned.timings.total = performance.now() - t0;
    this.remember(g, planned, ctx, produced);
    const metadata = cellMetadata({ ...planned, cellId: ctx.cellId, warnings: emit.warnings }, g);
    return { status: 'ok', result: { data: tokensBundle(g, this.generationContext(planned, ctx)), metadata } };
  }

  /** %reset, %model and %voice off: they change the session whatever else the cell does. */
  private async applySessionMagics(cell: Cell, ctx: RunContext, emit: CellEmit, timings: Timings): Promise<void> {
    if (cell.reset) this.conversation.reset();
    if (cell.model !== undefined) {
      const dir = resolvePath(ctx.cwd, cell.model);
      const previous = this.models.loaded?.name ?? this.models.modelDir;
      let backend: Backend;
      try {
        backend = await this.models.switchTo(dir, emit.status, timings);
      } catch (e) {
        // The slot kept the previous model and the conversation is untouched: say so, or every later error looks
        // like the new package's.
        if (previous && e instanceof Error) e.message += `\n(still using the previous model, ${previous})`;
        throw e;
      }
      this.conversation.reset();
      emit.stream('stdout', `model: ${backend.describeModel().name} (${dir}); conversation cleared\n`);
    }
    if (cell.voice === null) this.voice = undefined;
  }

  /** Cells that do not generate: %help, %config, %history, %decode, and magics alone. */
  private async runCommand(
    cell: Cell,
    ctx: RunContext,
    emit: CellEmit,
    timings: Timings,
    t0: number,
  ): Promise<Outcome> {
    switch (cell.action.kind) {
      case 'help':
        emit.stream('stdout', helpText(cell.action.topic) + '\n');
        return { status: 'ok' };
      case 'config':
        return this.configure(cell.action.set, emit);
      case 'history':
        emit.stream('stdout', describeHistory(this.conversation.all()) + '\n');
        return { status: 'ok' };
      case 'decode':
        return this.decodeCell(cell, ctx, emit, timings, t0);
      default:
        if (cell.voice)
          this.voice = await loadVoice({ ...cell, voice: cell.voice }, ctx.cwd, this.model(emit), emit, ctx.signal);
        if (cell.reset && cell.model === undefined && !cell.voice) emit.stream('stdout', 'conversation cleared\n');
        return { status: 'ok' };
    }
  }

  /** Files checked, voice and model loaded, media encoded: the cell's plan. */
  private async plan(cell: Cell, source: string, ctx: RunContext, emit: CellEmit, timings: Timings): Promise<Planned> {
    await checkMediaFiles(cell.media, ctx.cwd);
    if (cell.voice)
      this.voice = await loadVoice({ ...cell, voice: cell.voice }, ctx.cwd, this.model(emit), emit, ctx.signal);
    const backend = await this.models.get(emit.status, timings);
    const model = backend.describeModel();
    const te = performance.now();
    const media: PlannedMedia[] = [];
    // Music input length follows the task, as upstream's two CLIs do (chat 5 s, base inference 20 s).
    const chat = !cell.raw && cellSettings(cell, this.defaults).task === 'chat';
    const chatMusic = chat ? model.manifest.modalities.music?.chatMaxInputSeconds : undefined;
    for (const ref of cell.media) {
      checkInterrupt(ctx.signal, 'before encoding the media inputs');
      const maxSeconds = ref.modality === 'music' ? chatMusic : undefined;
      const codes =
        ref.output !== undefined
          ? this.outputs.lookup(ref)
          : await encodeMediaFile(ref, ctx.cwd, backend, emit, ctx.signal, maxSeconds);
      media.push({ modality: ref.modality, tokens: mediaTokenString(model.manifest, codes), ref });
    }
    timings.encode = performance.now() - te;
    checkInterrupt(ctx.signal, 'after encoding the media inputs');
    const history = this.conversation.contextFor(ctx.cellId);
    const planWith = (turns: readonly Turn[]) =>
      planCell({
        cell,
        source,
        defaults: this.defaults,
        manifest: model.manifest,
        cellId: ctx.cellId,
        media,
        history: turns,
      });
    let plan = planWith(history);
    if (plan.chatTurn && plan.context.contextTurns?.length)
      plan = await this.fitConversation(plan, history, planWith, backend, model, emit);
    for (const w of plan.warnings) emit.warn(w);
    return { cell, plan, backend, model, timings };
  }

  /** Words the model's declared world lacks (nano's), named before it generates something silently wrong. */
  private warnOutsideWorld({ cell, plan, model }: Planned, emit: CellEmit): void {
    if (cell.raw) return;
    for (const w of unknownWordWarnings(model.name, model.manifest.world, plan.task, cell.text)) emit.warn(w);
  }

  /**
   * A chat turn carries the whole conversation, so a long session eventually overflows the model's context and
   * every later chat cell fails. Say that it is the conversation that is too long, and how to go on; with
   * %overflow drop-oldest, leave the oldest turns out of this prompt (one at a time, until it fits) and warn.
   */
  private async fitConversation(
    plan: CellPlan,
    history: readonly Turn[],
    planWith: (turns: readonly Turn[]) => CellPlan,
    backend: Backend,
    model: ModelDescription,
    emit: CellEmit,
  ): Promise<CellPlan> {
    const max = model.manifest.llm.maxPositions;
    const { promptLength } = await backend.tokenize(plan.prompt);
    if (promptLength < max) return plan;
    // A message too long on its own gets the engine's own error: no %reset or dropped turn would help it.
    const alone = planWith([]);
    if ((await backend.tokenize(alone.prompt)).promptLength >= max) return plan;
    if (plan.overflow === 'drop-oldest') {
      let fitted = alone;
      let dropped = history.length;
      // The message fits alone, so some suffix of the history fits; keep as many of the latest turns as fit.
      for (let k = 1; k < history.length; k++) {
        const candidate = planWith(history.slice(k));
        if ((await backend.tokenize(candidate.prompt)).promptLength < max) {
          [fitted, dropped] = [candidate, k];
          break;
        }
      }
      const counts = history.slice(0, dropped).map((t) => t.executionCount);
      emit.warn(
        `the conversation is too long for the model's context (${max} tokens max): dropped the ${dropped} oldest ` +
          `turn(s) [${counts.join(', ')}] from this turn's prompt; %history lists them`,
      );
      return { ...fitted, droppedTurns: counts };
    }
    const turns = plan.context.contextTurns?.length ?? 0;
    const e = new Error(
      `the conversation is too long for the model: with its ${turns} earlier turn(s) this chat turn's prompt has ` +
        `${promptLength} tokens, and the model's context (llm.maxPositions) is ${max}. Run %reset to start a new ` +
        'conversation (%history lists the turns it holds), or run this cell with %task or %raw, which send no ' +
        'history; %overflow drop-oldest (or %config overflow=drop-oldest) leaves the oldest turns out instead.',
    );
    e.name = 'ContextOverflow';
    throw e;
  }

  /** %tokens: the prompt's tokens, without generating. */
  private async showTokens(p: Planned, ctx: RunContext, emit: CellEmit, t0: number): Promise<Outcome> {
    const tt = performance.now();
    // The cell's parameters go into the record so that its seed is the one the cell status bar shows (metadata).
    const g = await p.backend.tokenize(p.plan.prompt, p.plan.params);
    p.timings.tokenize = performance.now() - tt;
    p.timings.total = performance.now() - t0;
    const metadata = cellMetadata({ ...p, cellId: ctx.cellId, warnings: emit.warnings }, undefined, g.promptLength);
    return { status: 'ok', result: { data: tokensBundle(g, p.plan.context), metadata } };
  }

  /** Generates with live streaming into one display; an interrupt keeps the partial output and ends the cell. */
  private async generate(
    p: Planned,
    ctx: RunContext,
    emit: CellEmit,
  ): Promise<{ g: Generation; display: StreamingDisplay }> {
    const display = new StreamingDisplay(emit.status, p.model.manifest);
    const tg = performance.now();
    let g: Generation;
    try {
      g = await p.backend.generate(p.plan.prompt, p.plan.params, { signal: ctx.signal, onEvent: display.onEvent });
    } finally {
      display.stop();
    }
    p.timings.generate = performance.now() - tg;
    for (const w of g.warnings) emit.warn(w);
    const metadata = cellMetadata({ ...p, cellId: ctx.cellId, warnings: emit.warnings }, g);
    display.finish({ 'text/plain': generationSummary(g, display.streamedText) }, metadata);
    if (g.stopReason === 'aborted') {
      emit.display(tokensBundle(g, this.generationContext(p, ctx)), metadata);
      throw new Interrupted(
        `interrupted after ${g.tokens.length - g.promptLength} generated tokens; the partial output is kept above${this.notAddedNote(p, ctx)}`,
      );
    }
    return { g, display };
  }

  /** Decodes and shows every generated media span. */
  private async showSpans(
    g: Generation,
    p: Planned,
    ctx: RunContext,
    emit: CellEmit,
    status: StreamingDisplay,
  ): Promise<MediaCodes[]> {
    const td = performance.now();
    const produced = await showGeneratedMedia(g, {
      backend: p.backend,
      manifest: p.model.manifest,
      emit,
      // The media outputs carry the metadata as it was when generation ended (decode timings are not in yet).
      metadata: cellMetadata({ ...p, cellId: ctx.cellId, warnings: emit.warnings }, g),
      generationId: this.generationContext(p, ctx).generationId!,
      executionCount: ctx.executionCount,
      signal: ctx.signal,
      voice: this.voice?.prompt,
      interruptNote: () => this.notAddedNote(p, ctx),
      status,
    });
    p.timings.decode = performance.now() - td;
    return produced;
  }

  /** A finished cell's media become `out:N`; a chat cell's turn joins the conversation. */
  private remember(g: Generation, p: Planned, ctx: RunContext, produced: MediaCodes[]): void {
    this.outputs.remember(ctx.executionCount, produced);
    if (!p.plan.chatTurn) return;
    this.conversation.commit({
      cellId: ctx.cellId,
      executionCount: ctx.executionCount,
      user: p.plan.chatTurn.userMessage,
      assistant: assistantMessage(g, p.model.manifest),
    });
  }

  /** The tokens output's context; generationId links it to the same execution's audio outputs. */
  private generationContext(p: Planned, ctx: RunContext) {
    return { ...p.plan.context, generationId: `${p.model.hash.slice(0, 12)}-${p.plan.seed}-${ctx.executionCount}` };
  }

  /**
   * An interrupted chat turn is not added to the conversation: later cells must not silently see half a
   * reply. The cell keeps its partial output (Jupyter's convention) and says so in one line.
   */
  private notAddedNote(p: Planned, ctx: RunContext): string {
    return p.plan.chatTurn ? turnNotAddedNote(this.conversation.all(), ctx.cellId) : '';
  }

  private async decodeCell(
    cell: Cell,
    ctx: RunContext,
    emit: CellEmit,
    timings: Timings,
    t0: number,
  ): Promise<Outcome> {
    if (cell.action.kind !== 'decode') throw new Error('unreachable');
    const backend = await this.models.get(emit.status, timings);
    const model = backend.describeModel();
    const { modality, tokens, line, col } = cell.action;
    const parseWarnings: string[] = [];
    const codes = parseModalityTokens(model.manifest, modality, tokens, line, col, parseWarnings);
    for (const w of parseWarnings) emit.warn(w);
    const key = `${ctx.executionCount}-decode`;
    checkInterrupt(ctx.signal, 'before decoding');
    const decoded = await decodeWithProgress(backend, codes, {
      voice: this.voice?.prompt,
      signal: ctx.signal,
      emit,
      key,
      status: decodeStatus(emit.status),
    });
    checkInterrupt(ctx.signal, `while decoding the ${modality} tokens`);
    timings.decode = performance.now() - t0;
    const metadata = decodeMetadata(model, timings, emit.warnings);
    await showMedia(decoded, codes, emit, metadata, { manifest: model.manifest, executionCount: ctx.executionCount });
    this.outputs.remember(ctx.executionCount, [codes]);
    return { status: 'ok' };
  }

  private configure(set: CellDefaults, emit: Emit): Outcome {
    Object.assign(this.defaults, set);
    const model = this.models.loaded;
    const text = describeConfig(set, {
      defaults: this.defaults,
      turns: this.conversation.all(),
      modelName: model?.name,
      modelDir: this.models.modelDir,
      voicePath: this.voice?.path,
      defaultVoiceName: model?.manifest.modalities.speech?.acoustic?.defaultVoice?.name,
    });
    emit.stream('stdout', text + '\n');
    return { status: 'ok' };
  }

  private model(emit: CellEmit): () => Promise<Backend> {
    return () => this.models.get(emit.status);
  }
}

/**
 * A %decode cell's status line: decode progress replaces the model load's, and a slow decode's line is emptied at
 * the end instead of keeping "decoded … in N ms" (the time is in the metadata, timings.decode).
 */
function decodeStatus(line: LiveLine): StatusLine {
  return {
    progress: (data) => line.show(data),
    settle: () => line.show({ 'text/plain': '' }),
  };
}
