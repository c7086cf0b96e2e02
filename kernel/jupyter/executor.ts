/**
 * Runs one cell: parse → resolve media → template → tokenize/generate → decode spans → outputs.
 * Holds the kernel's session state (model, persistent config, conversation, earlier outputs, voice).
 * Knows nothing of ZeroMQ: it talks to the protocol layer through `Emit`, so it is testable alone.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Generation, GenerationEvent, GenerationParams, Span } from '../../common/generation';
import type { MediaModality, Modality } from '../../common/manifest';
import type { CellContext, OutputMetadata } from '../../common/outputs';
import {
  Conversation,
  PromptError,
  TASK_OUTPUT,
  basePrompt,
  cellSeed,
  chatPrompt,
  chatUserMessage,
  helpText,
  mediaTokenString,
  parseCell,
  parseModalityTokens,
  spanCodes,
  type Cell,
  type CellSettings,
  type ConfigKey,
  type MagicValue,
  type MediaCodes,
  type MediaRef,
  type PromptMedia,
  type Task,
} from '../prompt';
import { enlargeForDisplay } from '../codecs';
import type { Backend, BackendFactory, DecodedMedia, EncodedMedia, ModelDescription, VoicePrompt } from './backend';
import { audioBundle, imageBundle, progressText, streamingText, tokensBundle, type MimeBundle } from './outputs';

export const KERNEL_VERSION = '0.1.0';

export interface Emit {
  display(data: MimeBundle, metadata: Record<string, unknown>, displayId?: string): void;
  update(data: MimeBundle, metadata: Record<string, unknown>, displayId: string): void;
  stream(name: 'stdout' | 'stderr', text: string): void;
}

export type Outcome =
  | { status: 'ok'; result?: { data: MimeBundle; metadata: Record<string, unknown> } }
  | { status: 'error'; ename: string; evalue: string; traceback: string[] };

export interface RunContext {
  executionCount: number;
  cellId?: string;
  signal: AbortSignal;
  /** Directory media paths are relative to (the notebook's). */
  cwd: string;
}

/** What `out:N` can refer to. */
interface CellOutputs {
  media: MediaCodes[];
}

export class Interrupted extends Error {
  override name = 'KeyboardInterrupt';
}

const STREAM_INTERVAL_MS = 50;
/** Progress displays appear only for operations that take longer than this (ANYGPT_PROGRESS_DELAY_MS). */
const PROGRESS_DELAY_MS = Number(process.env.ANYGPT_PROGRESS_DELAY_MS ?? 250);

export class CellExecutor {
  private backend?: Backend;
  private loading?: Promise<Backend>;
  private readonly conversation = new Conversation();
  private readonly outputs = new Map<number, CellOutputs>();
  private lastOutput?: number;
  private voice?: { path: string; prompt: VoicePrompt };
  /** `%config` persistent defaults. `seed` here is the notebook seed. */
  private readonly config: Partial<Record<ConfigKey, MagicValue>> = {};

  constructor(
    private modelDir: string | undefined,
    private readonly open: BackendFactory,
    private readonly opts: { executionProvider?: 'cpu' | 'cuda'; log: (s: string) => void },
  ) {}

  get loadedModel(): ModelDescription | undefined {
    return this.backend?.describeModel();
  }

  get currentModelDir(): string | undefined {
    return this.modelDir;
  }

  get history() {
    return this.conversation.all();
  }

  /** Execution counts whose media can be reused with out:N (for completion). */
  mediaOutputs(): number[] {
    return [...this.outputs.keys()];
  }

  /** For inspect: how a line tokenizes under the current model. */
  async describeTokens(line: string): Promise<string> {
    const backend = this.backend ?? (await this.model({ display() {}, update() {}, stream() {} }, 0));
    const g = await backend.tokenize(line);
    const manifest = backend.describeModel().manifest;
    const toks = g.tokens.filter((t) => t.piece !== manifest.tokenizer.bos);
    const shown = toks.slice(0, 200).map((t) => `${JSON.stringify(t.piece)}=${t.id}`);
    return `${toks.length} tokens (${backend.describeModel().name}):\n${shown.join(' ')}${toks.length > 200 ? ' …' : ''}`;
  }

  /** For inspect: the context a chat cell run now would see. */
  describeContext(): string {
    const turns = this.conversation.all();
    const cfg = Object.entries(this.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return [
      `context: ${turns.length ? `${turns.length} turn(s) from cells [${turns.map((t) => t.executionCount).join(', ')}]` : 'empty conversation'}`,
      cfg ? `defaults: ${cfg}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  }

  async close(): Promise<void> {
    await this.backend?.close().catch(() => {});
    this.backend = undefined;
  }

  private async model(emit: Emit, executionCount: number): Promise<Backend> {
    if (this.backend) return this.backend;
    if (!this.modelDir) {
      throw new Error(
        'no model package configured: run `anygpt-kernel install --model DIR`, set ANYGPT_MODEL, or use %model DIR',
      );
    }
    const id = `anygpt-${executionCount}-load`;
    let shown = false;
    this.loading ??= this.open(this.modelDir, {
      executionProvider: this.opts.executionProvider,
      onProgress: (p) => {
        const data = progressText(`loading model: ${p.stage}`, p.done, p.total);
        if (!shown) emit.display(data, {}, id);
        else emit.update(data, {}, id);
        shown = true;
      },
    });
    try {
      this.backend = await this.loading;
    } finally {
      this.loading = undefined;
    }
    if (shown)
      emit.update(
        {
          'text/plain': `loaded ${this.backend.describeModel().name} in ${this.backend.describeModel().loadMs.toFixed(0)} ms`,
        },
        {},
        id,
      );
    return this.backend;
  }

  async run(source: string, ctx: RunContext, emit: Emit): Promise<Outcome> {
    const t0 = performance.now();
    try {
      return await this.runCell(source, ctx, withWarnings(emit), t0);
    } catch (e) {
      return errorOutcome(e);
    }
  }

  private settingsFor(cell: Cell): CellSettings & { task: Task } {
    const c = this.config;
    const fromConfig: CellSettings = {
      task: c.task as Task | undefined,
      temperature: c.temperature as number | undefined,
      topK: c.top_k as number | undefined,
      topP: c.top_p as number | undefined,
      repetitionPenalty: c.repetition_penalty as number | undefined,
      maxNewTokens: c.max_new_tokens as number | undefined,
      numBeams: c.beams as number | undefined,
      template: c.template as 'mmgpt' | 'anygpt' | undefined,
      constrain: c.constrain as boolean | undefined,
    };
    const merged = { ...stripUndefined(fromConfig), ...stripUndefined(cell.settings) };
    return { ...merged, task: merged.task ?? 'chat' };
  }

  private async runCell(source: string, ctx: RunContext, emit: CellEmit, t0: number): Promise<Outcome> {
    const cell = parseCell(source);
    const timings: Record<string, number> = { parse: performance.now() - t0 };

    if (cell.reset) this.conversation.reset();
    if (cell.model !== undefined) {
      const dir = resolvePath(ctx.cwd, cell.model);
      await this.close();
      this.modelDir = dir;
      this.conversation.reset();
      await this.model(emit, ctx.executionCount);
      emit.stream('stdout', `model: ${this.backend!.describeModel().name} (${dir}); conversation cleared\n`);
    }
    if (cell.voice === null) this.voice = undefined;

    switch (cell.action.kind) {
      case 'help':
        emit.stream('stdout', helpText(cell.action.topic) + '\n');
        return { status: 'ok' };
      case 'config':
        return this.configure(cell.action.set, emit);
      case 'history':
        emit.stream('stdout', this.describeHistory() + '\n');
        return { status: 'ok' };
      case 'none':
        if (cell.voice) await this.loadVoice(cell, ctx, emit);
        if (cell.reset && cell.model === undefined && !cell.voice) emit.stream('stdout', 'conversation cleared\n');
        return { status: 'ok' };
      case 'decode':
        return this.decodeCell(cell, ctx, emit, timings, t0);
      case 'tokens':
      case 'generate':
        break;
    }
    // Missing files fail fast, before a model load.
    for (const ref of cell.media)
      if (ref.output === undefined)
        await checkFile(resolvePath(ctx.cwd, ref.target), ref.target, ctx.cwd, ref.line, ref.col, ref.length);
    if (cell.voice) await this.loadVoice(cell, ctx, emit);
    const backend = await this.model(emit, ctx.executionCount);
    const model = backend.describeModel();
    const manifest = model.manifest;
    const settings = this.settingsFor(cell);

    // Media attachments → token strings.
    const te = performance.now();
    const media: (PromptMedia & { ref: MediaRef })[] = [];
    for (const ref of cell.media) {
      const codes = await this.resolveMedia(ref, ctx, backend, emit);
      media.push({ modality: ref.modality, tokens: mediaTokenString(manifest, codes), ref });
    }
    timings.encode = performance.now() - te;

    // The prompt.
    const task = settings.task;
    const templateName = settings.template ?? manifest.templates.defaultChat;
    let prompt: string;
    let context: CellContext = { task, cellId: ctx.cellId };
    const contextTurns = task === 'chat' && !cell.raw ? this.conversation.contextFor(ctx.cellId) : [];
    if (cell.raw) {
      prompt = cell.body;
      for (const m of [...media].sort((a, b) => b.ref.offset - a.ref.offset)) {
        prompt = prompt.slice(0, m.ref.offset) + m.tokens + prompt.slice(m.ref.offset + m.ref.length);
      }
      context.task = 'raw';
    } else if (task === 'chat') {
      if (!cell.text && !media.length) throw new PromptError('empty message', cell.bodyLine, 1);
      prompt = chatPrompt(manifest.templates.chat[templateName], contextTurns, chatUserMessage(cell.text, media));
      context.contextTurns = contextTurns.map((t) => t.executionCount);
    } else {
      prompt = basePrompt(manifest, task, cell.text, media, cell.bodyLine, { forceOutput: settings.constrain ?? true });
    }

    const outputModality: Modality = cell.raw ? 'text' : TASK_OUTPUT[task];
    const seedExplicit = settings.seed !== undefined;
    const notebookSeed = (this.config.seed as number | undefined) ?? 0;
    const seed = settings.seed ?? cellSeed(notebookSeed, source);
    const p = manifest.presets[outputModality];
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
    const meta = (extra: Record<string, number> = {}): { anygpt: OutputMetadata } => ({
      anygpt: {
        model: model.name,
        modelHash: model.hash,
        modelDir: model.dir,
        engineVersion: model.engineVersion,
        kernelVersion: KERNEL_VERSION,
        executionProvider: model.executionProvider,
        task: context.task,
        outputModality,
        params,
        seed,
        seedExplicit,
        notebookSeed,
        promptTokens: 0,
        generatedTokens: 0,
        tokensPerSecond: 0,
        timings: roundTimings({ ...timings, ...extra }),
        cellId: ctx.cellId,
        ...(emit.warnings.length ? { warnings: [...emit.warnings] } : {}),
      },
    });

    if (cell.action.kind === 'tokens') {
      const tt = performance.now();
      const g = await backend.tokenize(prompt);
      timings.tokenize = performance.now() - tt;
      timings.total = performance.now() - t0;
      const m = meta();
      m.anygpt.promptTokens = g.promptLength;
      return { status: 'ok', result: { data: tokensBundle(g, context), metadata: m } };
    }

    // Generate with live streaming into one display (update_display_data), throttled.
    const streamId = `anygpt-${ctx.executionCount}-${Date.now().toString(36)}-text`;
    let text = '';
    let open: { modality: MediaModality; count: number } | undefined;
    let shown = false;
    let lastFlush = 0;
    let pending: NodeJS.Timeout | undefined;
    const flush = (done = false) => {
      if (pending) clearTimeout(pending);
      pending = undefined;
      lastFlush = performance.now();
      const data = streamingText(text.trim(), open, done);
      if (!shown) emit.display(data, {}, streamId);
      else emit.update(data, {}, streamId);
      shown = true;
    };
    const onEvent = (e: GenerationEvent) => {
      if (e.type === 'token') {
        const t = e.token;
        const opens = (Object.keys(manifest.modalities) as MediaModality[]).find(
          (k) => manifest.modalities[k]?.tokens.start === t.piece,
        );
        if (opens) open = { modality: opens, count: 0 };
        else if (t.modality === 'text') {
          if (!isControlPiece(t.piece, manifest)) text += t.piece.replace(/▁/g, ' ');
        } else if (open) open.count++;
        else open = { modality: t.modality, count: 1 };
      } else if (e.type === 'span-start') {
        open = { modality: e.modality, count: 0 };
      } else if (e.type === 'span-end') {
        if (open) open = { ...open };
      } else if (e.type === 'progress') {
        return;
      }
      // First token immediately (time-to-first-token is what users feel), then at most every 50 ms.
      if (!shown) flush();
      else if (!pending) pending = setTimeout(flush, Math.max(0, STREAM_INTERVAL_MS - (performance.now() - lastFlush)));
    };
    // An interrupted chat turn is not added to the conversation: later cells must not silently see half a
    // reply. The cell keeps its partial output (Jupyter's convention) and says so in one line.
    const isChat = task === 'chat' && !cell.raw;
    const notAdded = () => {
      if (!isChat) return '';
      const kept = ctx.cellId !== undefined && this.conversation.all().some((t) => t.cellId === ctx.cellId);
      const n = this.conversation.length;
      return `; this turn was NOT added to the conversation${kept ? " (the cell's previous turn is kept)" : ''}: later cells see ${n} turn${n === 1 ? '' : 's'}. Re-run the cell to add it`;
    };
    const tg = performance.now();
    const g = await backend.generate(prompt, params, { signal: ctx.signal, onEvent });
    timings.generate = performance.now() - tg;
    for (const w of g.warnings) emit.warn(w);
    if (pending) clearTimeout(pending);
    const finalText = g.text || text.trim();
    const generationId = `${model.hash.slice(0, 12)}-${seed}-${ctx.executionCount}`;
    context = { ...context, generationId };
    const m0 = meta();
    Object.assign(m0.anygpt, {
      promptTokens: g.promptLength,
      generatedTokens: g.tokens.length - g.promptLength,
      tokensPerSecond: g.stats.tokensPerSecond,
      stopReason: g.stopReason,
    });
    const genMedia = generatedMediaSpans(g);
    // Count codes, not tokens: a span's [start, end) also covers its two tags.
    const mediaNote = genMedia.map(({ span }) => `[${span.kind}: ${span.codes.flat().length} codes]`).join(' ');
    const finalData = { 'text/plain': [finalText, mediaNote].filter(Boolean).join(' ') || '(no text)' };
    if (shown) emit.update(finalData, m0, streamId);
    else emit.display(finalData, m0, streamId);

    if (g.stopReason === 'aborted') {
      emit.display(tokensBundle(g, context), m0);
      throw new Interrupted(
        `interrupted after ${g.tokens.length - g.promptLength} generated tokens; the partial output is kept above${notAdded()}`,
      );
    }

    // Decode every generated media span. A span cut short (max_new_tokens, a missing end tag) still decodes
    // when its codes allow it (speech, whole music frames), with a warning; a partial image cannot.
    const td = performance.now();
    const produced: MediaCodes[] = [];
    for (const { span, index } of genMedia) {
      const codes = spanCodes(span)!;
      const n = codesLength(codes);
      const tags = manifest.modalities[span.modality]?.tokens;
      const written = g.tokens
        .slice(span.start, span.end + 1)
        .filter((t) => t.modality === span.modality && t.piece !== tags?.start && t.piece !== tags?.end).length;
      if (!span.complete || !n) {
        const why =
          g.stopReason === 'max-new-tokens'
            ? 'generation hit max_new_tokens inside it; raise %max_new_tokens'
            : `generation stopped inside it (stop: ${g.stopReason})`;
        if (codes.modality === 'image' || !n) {
          emit.warn(
            `skipped an incomplete ${span.kind} span (${written} of ${codes.modality === 'image' ? manifest.modalities.image?.tokensPerImage : 'its'} tokens): ${why}`,
          );
          continue;
        }
        const frames = codes.modality === 'music' ? `, ${codes.codes[0].length} whole frame(s)` : '';
        emit.warn(
          `the ${span.kind} span is truncated (${written} tokens${frames}): ${why}; decoded the ${n} code(s) present`,
        );
      }
      produced.push(codes);
      let decoded: DecodedMedia;
      try {
        decoded = await this.decodeWithProgress(backend, codes, ctx, emit, `${ctx.executionCount}-${index}`);
      } catch (e) {
        if (isAbort(e))
          throw new Interrupted(
            `interrupted while decoding the ${span.kind} span; the generated tokens are kept above${notAdded()}`,
          );
        throw e;
      }
      await this.showMedia(decoded, codes, emit, m0, {
        index,
        span,
        generationId,
        manifest,
        executionCount: ctx.executionCount,
      });
    }
    timings.decode = performance.now() - td;
    timings.total = performance.now() - t0;
    const m = meta();
    Object.assign(m.anygpt, {
      promptTokens: g.promptLength,
      generatedTokens: g.tokens.length - g.promptLength,
      tokensPerSecond: g.stats.tokensPerSecond,
      stopReason: g.stopReason,
    });

    this.remember(ctx.executionCount, produced);
    if (isChat) {
      const user = chatUserMessage(cell.text, media);
      this.conversation.commit({
        cellId: ctx.cellId,
        executionCount: ctx.executionCount,
        user,
        assistant: assistantMessage(g, manifest),
      });
    }
    return { status: 'ok', result: { data: tokensBundle(g, context), metadata: m } };
  }

  private async decodeCell(
    cell: Cell,
    ctx: RunContext,
    emit: CellEmit,
    timings: Record<string, number>,
    t0: number,
  ): Promise<Outcome> {
    if (cell.action.kind !== 'decode') throw new Error('unreachable');
    const backend = await this.model(emit, ctx.executionCount);
    const model = backend.describeModel();
    const { modality, tokens, line, col } = cell.action;
    const parseWarnings: string[] = [];
    const codes = parseModalityTokens(model.manifest, modality, tokens, line, col, parseWarnings);
    for (const w of parseWarnings) emit.warn(w);
    const decoded = await this.decodeWithProgress(backend, codes, ctx, emit, `${ctx.executionCount}-decode`);
    timings.decode = performance.now() - t0;
    const metadata = {
      anygpt: {
        model: model.name,
        modelHash: model.hash,
        engineVersion: model.engineVersion,
        kernelVersion: KERNEL_VERSION,
        executionProvider: model.executionProvider,
        task: 'decode',
        timings: roundTimings(timings),
        ...(emit.warnings.length ? { warnings: [...emit.warnings] } : {}),
      },
    };
    await this.showMedia(decoded, codes, emit, metadata, {
      manifest: model.manifest,
      executionCount: ctx.executionCount,
    });
    this.remember(ctx.executionCount, [codes]);
    return { status: 'ok' };
  }

  private remember(executionCount: number, media: MediaCodes[]): void {
    if (!media.length) return;
    this.outputs.set(executionCount, { media });
    this.lastOutput = executionCount;
    // Bound memory: keep the media codes of the last 100 cells that produced any.
    if (this.outputs.size > 100) this.outputs.delete(this.outputs.keys().next().value!);
  }

  private async decodeWithProgress(
    backend: Backend,
    codes: MediaCodes,
    ctx: RunContext,
    emit: CellEmit,
    key: string,
  ): Promise<DecodedMedia> {
    const id = `anygpt-${key}-progress`;
    let shown = false;
    const t = performance.now();
    const decoded = await backend.decodeSpan(codes, {
      voice: codes.modality === 'speech' ? this.voice?.prompt : undefined,
      signal: ctx.signal,
      onProgress: (p) => {
        // Fast decodes show no progress bar at all (no flashing output); slow ones show it after a moment.
        if (!shown && performance.now() - t < PROGRESS_DELAY_MS && p.done < p.total) return;
        if (!shown && p.done >= p.total && performance.now() - t < PROGRESS_DELAY_MS) return;
        const data = progressText(p.stage, p.done, p.total);
        if (!shown) emit.display(data, {}, id);
        else emit.update(data, {}, id);
        shown = true;
      },
    });
    if (shown)
      emit.update({ 'text/plain': `decoded ${codes.modality} in ${(performance.now() - t).toFixed(0)} ms` }, {}, id);
    for (const w of decoded.warnings ?? []) emit.warn(w);
    return decoded;
  }

  private async showMedia(
    decoded: DecodedMedia,
    codes: MediaCodes,
    emit: Emit,
    metadata: Record<string, unknown>,
    at: {
      index?: number;
      span?: Span;
      generationId?: string;
      manifest: ModelDescription['manifest'];
      executionCount: number;
    },
  ): Promise<void> {
    const n = codesLength(codes);
    const label = at.span
      ? `${n} ${codes.modality} tokens from span ${at.index}`
      : `${n} ${codes.modality} tokens (%decode)`;
    if (decoded.mime === 'image/png') {
      const shown =
        decoded.width && decoded.height
          ? await enlargeForDisplay(decoded.data, decoded.width, decoded.height)
          : undefined;
      emit.display(imageBundle(decoded, label, shown), metadata);
      return;
    }
    const spec = codes.modality === 'music' ? at.manifest.modalities.music : at.manifest.modalities.speech;
    emit.display(
      audioBundle(
        decoded,
        {
          frameRate: spec?.frameRate ?? 50,
          codes: codes.codes,
          codebookSize:
            codes.modality === 'music'
              ? at.manifest.modalities.music?.codebookSize
              : at.manifest.modalities.speech?.codebookSize,
          span: at.span && at.index !== undefined ? { index: at.index, span: at.span, tokenCount: n } : undefined,
          generationId: at.generationId,
          fileName: `cell${at.executionCount}-${codes.modality}.wav`,
        },
        label,
      ),
      metadata,
    );
  }

  private async resolveMedia(ref: MediaRef, ctx: RunContext, backend: Backend, emit: CellEmit): Promise<MediaCodes> {
    if (ref.output !== undefined) {
      const n = ref.output === 'last' ? this.lastOutput : ref.output;
      const out = n === undefined ? undefined : this.outputs.get(n);
      if (!out) {
        const have = [...this.outputs.keys()].join(', ') || 'none yet';
        throw new PromptError(
          `no media output from cell ${ref.output === 'last' ? '(last)' : `[${ref.output}]`} in this kernel session (cells with media: ${have})`,
          ref.line,
          ref.col,
          ref.length,
        );
      }
      const m = out.media.find((x) => x.modality === ref.modality);
      if (!m)
        throw new PromptError(
          `cell [${n}] produced no ${ref.modality} (it has ${out.media.map((x) => x.modality).join(', ')})`,
          ref.line,
          ref.col,
          ref.length,
        );
      return m;
    }
    const path = resolvePath(ctx.cwd, ref.target);
    // The encoder reads the file itself, off the main thread and only as far as it needs.
    let r: EncodedMedia;
    try {
      r = await backend.encodeMedia(ref.modality, { path });
    } catch (e) {
      throw (
        fileError(e, path, ref.target, ctx.cwd, ref.line, ref.col, ref.length) ??
        new PromptError(
          `cannot use ${ref.target} as ${ref.modality}: ${(e as Error).message}`,
          ref.line,
          ref.col,
          ref.length,
        )
      );
    }
    for (const w of r.warnings ?? []) emit.warn(`line ${ref.line}, col ${ref.col}: ${w}`);
    const { warnings: _, ...codes } = r;
    return codes as MediaCodes;
  }

  private async loadVoice(cell: Cell, ctx: RunContext, emit: CellEmit): Promise<void> {
    const use = cell.magics.find((m) => m.name === 'voice')!;
    const path = resolvePath(ctx.cwd, cell.voice!);
    await checkFile(path, cell.voice!, ctx.cwd, use.line, use.argCol, cell.voice!.length, 'voice file');
    const backend = await this.model(emit, ctx.executionCount);
    let prompt: VoicePrompt;
    try {
      prompt = await backend.encodeVoice({ path });
    } catch (e) {
      throw (
        fileError(e, path, cell.voice!, ctx.cwd, use.line, use.argCol, cell.voice!.length, 'voice file') ??
        new PromptError(
          `cannot use ${cell.voice} as a voice prompt: ${(e as Error).message}`,
          use.line,
          use.argCol,
          cell.voice!.length,
        )
      );
    }
    this.voice = { path, prompt };
    for (const w of prompt.warnings ?? []) emit.warn(`line ${use.line}, col ${use.argCol}: ${w}`);
    if (cell.action.kind === 'none')
      emit.stream('stdout', `voice: ${cell.voice} (used for speech output until %voice off)\n`);
  }

  private configure(set: Partial<Record<ConfigKey, MagicValue>>, emit: Emit): Outcome {
    Object.assign(this.config, set);
    const rows = Object.entries(this.config).map(([k, v]) => `  ${k} = ${v === true ? 'on' : v === false ? 'off' : v}`);
    const lines = [
      Object.keys(set).length ? 'defaults updated:' : 'defaults (set with %config key=value):',
      ...(rows.length ? rows : ['  (none: model presets apply)']),
    ];
    lines.push(`model: ${this.backend?.describeModel().name ?? '(not loaded)'} ${this.modelDir ?? ''}`.trimEnd());
    const defaultVoice = this.backend?.describeModel().manifest.modalities.speech?.acoustic?.defaultVoice;
    if (this.voice) lines.push(`voice: ${this.voice.path}`);
    else if (defaultVoice) lines.push(`voice: the model's default, ${defaultVoice.name} (%voice x.wav to change)`);
    lines.push(`conversation: ${this.conversation.length} turn(s)`);
    emit.stream('stdout', lines.join('\n') + '\n');
    return { status: 'ok' };
  }

  private describeHistory(): string {
    const turns = this.conversation.all();
    if (!turns.length) return 'conversation is empty';
    const clip = (s: string) => (s.length > 120 ? s.slice(0, 117) + '…' : s).replace(/\n/g, ' ');
    return turns
      .map(
        (t, i) =>
          `${i + 1}. [${t.executionCount}]${t.cellId ? ` (cell ${t.cellId.slice(0, 8)})` : ''}\n   user: ${clip(t.user)}\n   assistant: ${clip(t.assistant)}`,
      )
      .join('\n');
  }
}

/** The executor's view of Emit: warnings go to stderr as they happen and are recorded for the output metadata. */
interface CellEmit extends Emit {
  readonly warnings: string[];
  warn(message: string): void;
}

function withWarnings(emit: Emit): CellEmit {
  const warnings: string[] = [];
  return {
    display: (d, m, id) => emit.display(d, m, id),
    update: (d, m, id) => emit.update(d, m, id),
    stream: (n, t) => emit.stream(n, t),
    warnings,
    warn(message) {
      if (warnings.includes(message)) return;
      warnings.push(message);
      emit.stream('stderr', `warning: ${message}\n`);
    },
  };
}

function isAbort(e: unknown): boolean {
  return e instanceof Interrupted || (e instanceof Error && e.name === 'AbortError');
}

/** "file not found: /abs/x.wav (relative to the notebook folder /abs)"; undefined when `e` is not a file-system error. */
function fileProblem(
  code: string | undefined,
  path: string,
  written: string,
  cwd: string,
  what = 'file',
): string | undefined {
  const rel = isAbsolute(written) || written.startsWith('~/') ? '' : ` (relative to the notebook folder ${cwd})`;
  if (code === 'ENOENT') return `${what} not found: ${path}${rel}`;
  if (code === 'EISDIR') return `${what} is a directory, not a file: ${path}${rel}`;
  if (code === 'EACCES' || code === 'EPERM') return `${what} is not readable (permission denied): ${path}`;
  return undefined;
}

function fileError(
  e: unknown,
  path: string,
  written: string,
  cwd: string,
  line: number,
  col: number,
  length: number,
  what?: string,
): PromptError | undefined {
  const msg = fileProblem((e as NodeJS.ErrnoException | undefined)?.code, path, written, cwd, what);
  return msg === undefined ? undefined : new PromptError(msg, line, col, length);
}

/** Fails with a located PromptError when `path` is missing, a directory or unreadable. */
async function checkFile(
  path: string,
  written: string,
  cwd: string,
  line: number,
  col: number,
  length: number,
  what?: string,
): Promise<void> {
  let code: string | undefined;
  try {
    if ((await stat(path)).isDirectory()) code = 'EISDIR';
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
  if (code)
    throw new PromptError(fileProblem(code, path, written, cwd, what) ?? `cannot read ${path}`, line, col, length);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}

function resolvePath(cwd: string, p: string): string {
  const expanded = p.startsWith('~/') ? resolve(process.env.HOME ?? '/', p.slice(2)) : p;
  return isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
}

function codesLength(c: MediaCodes): number {
  return c.modality === 'music' ? c.codes.length * (c.codes[0]?.length ?? 0) : c.codes.length;
}

function isControlPiece(piece: string, manifest: ModelDescription['manifest']): boolean {
  return (
    piece === manifest.tokenizer.eos ||
    piece === manifest.tokenizer.bos ||
    manifest.templates.stopTokens.includes(piece) ||
    manifest.specialTokens.includes(piece) ||
    /^<(so|eo)[a-z]{2}>$/.test(piece)
  );
}

function generatedMediaSpans(g: Generation): { span: Exclude<Span, { kind: 'text' }>; index: number }[] {
  return g.spans.flatMap((span, index) => (span.kind !== 'text' && span.role === 'generated' ? [{ span, index }] : []));
}

/** The assistant message for the history: generated text with media spans written back as token strings. */
export function assistantMessage(g: Generation, manifest: ModelDescription['manifest']): string {
  let s = '';
  for (const span of g.spans) {
    if (span.role !== 'generated') continue;
    if (span.kind === 'text') s += span.text;
    else if (span.complete) s += ' ' + mediaTokenString(manifest, spanCodes(span)!) + ' ';
  }
  const stops = [...manifest.templates.stopTokens, manifest.tokenizer.eos];
  let cut = s.length;
  for (const st of stops) {
    const i = s.indexOf(st);
    if (i >= 0 && i < cut) cut = i;
  }
  return s.slice(0, cut).replace(/\s+/g, ' ').trim();
}

export function errorOutcome(e: unknown): Outcome {
  if (e instanceof PromptError) {
    return {
      status: 'error',
      ename: 'PromptError',
      evalue: e.located,
      traceback: [`\x1b[31mPromptError\x1b[0m: ${e.located}`],
    };
  }
  if (e instanceof Interrupted || (e instanceof Error && e.name === 'AbortError')) {
    return {
      status: 'error',
      ename: 'KeyboardInterrupt',
      evalue: e.message,
      traceback: [`\x1b[31mKeyboardInterrupt\x1b[0m: ${e.message}`],
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const name = err.name && err.name !== 'Error' ? err.name : 'AnyGPTError';
  return { status: 'error', ename: name, evalue: err.message, traceback: [`\x1b[31m${name}\x1b[0m: ${err.message}`] };
}
