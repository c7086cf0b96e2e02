/**
 * Schema check of `anygpt.json` (common/manifest.ts, format version 1).
 *
 * Hand-written rather than a JSON-Schema library so that every failure reads as one precise sentence:
 * `anygpt.json: llm.numLayers: expected a positive integer, got "x"`.
 */
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type FileRef,
  type Manifest,
  type OnnxRef,
  type SamplingPreset,
  type WorldSpec,
  WORLD_TASKS,
} from '../../common/manifest';

export class PackageError extends Error {
  override name = 'PackageError';
}

type Json = unknown;

function show(v: Json): string {
  if (v === undefined) return 'nothing (field missing)';
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** Walks the manifest with a path, so each message names the field. */
class Checker {
  constructor(private readonly file: string) {}

  fail(path: string, expected: string, got: Json): never {
    throw new PackageError(`${this.file}: ${path}: expected ${expected}, got ${show(got)}`);
  }

  obj(v: Json, path: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Record<string, Json>;
  }

  str(v: Json, path: string, nonEmpty = true): string {
    if (typeof v !== 'string' || (nonEmpty && v.length === 0))
      this.fail(path, nonEmpty ? 'a non-empty string' : 'a string', v);
    return v as string;
  }

  optStr(v: Json, path: string): string | undefined {
    return v === undefined ? undefined : this.str(v, path);
  }

  posInt(v: Json, path: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(path, 'a positive integer', v);
    return v as number;
  }

  nonNegInt(v: Json, path: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(path, 'a non-negative integer', v);
    return v as number;
  }

  num(v: Json, path: string, min = -Infinity, max = Infinity, what = 'a number'): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(path, what, v);
    return v as number;
  }

  bool(v: Json, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false', v);
    return v as boolean;
  }

  oneOf<T extends string>(v: Json, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T))
      this.fail(path, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`, v);
    return v as T;
  }

  /** A relative path that stays inside the package directory. */
  relPath(v: Json, path: string): string {
    const s = this.str(v, path);
    if (s.startsWith('/') || /^[A-Za-z]:[\\/]/.test(s) || s.split(/[\\/]/).includes('..')) {
      this.fail(path, 'a relative path inside the package (no "/" prefix, no "..")', v);
    }
    return s;
  }

  fileRef(v: Json, path: string): FileRef {
    const o = this.obj(v, path);
    const ref: FileRef = { path: this.relPath(o.path, `${path}.path`) };
    if (o.sha256 !== undefined) {
      if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256))
        this.fail(`${path}.sha256`, '64 lowercase hex digits', o.sha256);
      ref.sha256 = o.sha256;
    }
    return ref;
  }

  onnxRef(v: Json, path: string): OnnxRef {
    const ref: OnnxRef = this.fileRef(v, path);
    const o = v as Record<string, Json>;
    if (o.externalData !== undefined) {
      if (!Array.isArray(o.externalData))
        this.fail(`${path}.externalData`, 'an array of file references', o.externalData);
      ref.externalData = o.externalData.map((e, i) => this.fileRef(e, `${path}.externalData[${i}]`));
    }
    return ref;
  }

  rgb(v: Json, path: string): [number, number, number] {
    if (!Array.isArray(v) || v.length !== 3) this.fail(path, 'an array of 3 numbers', v);
    return (v as Json[]).map((x, i) => this.num(x, `${path}[${i}]`)) as [number, number, number];
  }
}

function preset(c: Checker, v: Json, path: string): SamplingPreset {
  const o = c.obj(v, path);
  return {
    doSample: c.bool(o.doSample, `${path}.doSample`),
    temperature: c.num(o.temperature, `${path}.temperature`, 1e-6, Infinity, 'a number > 0'),
    topK: c.nonNegInt(o.topK, `${path}.topK`),
    topP: c.num(o.topP, `${path}.topP`, 1e-9, 1, 'a number in (0, 1]'),
    repetitionPenalty: c.num(o.repetitionPenalty, `${path}.repetitionPenalty`, 1e-6, Infinity, 'a number > 0'),
    maxNewTokens: c.posInt(o.maxNewTokens, `${path}.maxNewTokens`),
    minNewTokens: c.nonNegInt(o.minNewTokens, `${path}.minNewTokens`),
    numBeams: c.posInt(o.numBeams, `${path}.numBeams`),
  };
}

function tokenBlock(c: Checker, v: Json, path: string) {
  const o = c.obj(v, path);
  return {
    prefix: c.str(o.prefix, `${path}.prefix`),
    size: c.posInt(o.size, `${path}.size`),
    start: c.str(o.start, `${path}.start`),
    end: c.str(o.end, `${path}.end`),
  };
}

/** Validates parsed JSON and returns it typed. Unknown extra fields are allowed (forward compatible). */
export function validateManifest(json: Json, file = MANIFEST_FILE): Manifest {
  const c = new Checker(file);
  const m = c.obj(json, '(root)');
  if (m.format !== MANIFEST_FORMAT) c.fail('format', JSON.stringify(MANIFEST_FORMAT), m.format);
  if (m.version !== MANIFEST_VERSION)
    c.fail('version', `${MANIFEST_VERSION} (the format version this engine reads)`, m.version);

  const llm = c.obj(m.llm, 'llm');
  const variants = llm.variants === undefined ? undefined : c.obj(llm.variants, 'llm.variants');
  const tok = c.obj(m.tokenizer, 'tokenizer');
  if (!Array.isArray(m.specialTokens)) c.fail('specialTokens', 'an array of token strings', m.specialTokens);
  const mods = c.obj(m.modalities, 'modalities');
  const tpl = c.obj(m.templates, 'templates');
  const chat = c.obj(tpl.chat, 'templates.chat');
  const chatTemplate = (v: Json, path: string) => {
    const o = c.obj(v, path);
    return {
      system: c.str(o.system, `${path}.system`, false),
      user: c.str(o.user, `${path}.user`),
      assistant: c.str(o.assistant, `${path}.assistant`),
      userEnd: c.str(o.userEnd, `${path}.userEnd`),
      assistantEnd: c.str(o.assistantEnd, `${path}.assistantEnd`),
    };
  };
  const instr = c.obj(tpl.instructions, 'templates.instructions');
  if (!Array.isArray(tpl.stopTokens)) c.fail('templates.stopTokens', 'an array of token strings', tpl.stopTokens);
  const presets = c.obj(m.presets, 'presets');
  const base = c.str(tpl.base, 'templates.base');
  if (!base.includes('{message}')) c.fail('templates.base', 'a template containing "{message}"', base);

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name: c.str(m.name, 'name'),
    description: c.optStr(m.description, 'description'),
    license: c.optStr(m.license, 'license'),
    llm: {
      graph: c.onnxRef(llm.graph, 'llm.graph'),
      numLayers: c.posInt(llm.numLayers, 'llm.numLayers'),
      numKvHeads: c.posInt(llm.numKvHeads, 'llm.numKvHeads'),
      headDim: c.posInt(llm.headDim, 'llm.headDim'),
      vocabSize: c.posInt(llm.vocabSize, 'llm.vocabSize'),
      maxPositions: c.posInt(llm.maxPositions, 'llm.maxPositions'),
      kvDtype: c.oneOf(llm.kvDtype, 'llm.kvDtype', ['float32', 'float16'] as const),
      variants:
        variants &&
        Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, c.onnxRef(v, `llm.variants.${k}`)])),
      ...(llm.kvCache === undefined
        ? {}
        : { kvCache: c.oneOf(llm.kvCache, 'llm.kvCache', ['dynamic', 'shared-buffer'] as const) }),
    },
    tokenizer: {
      file: c.fileRef(tok.file, 'tokenizer.file'),
      config: tok.config === undefined ? undefined : c.fileRef(tok.config, 'tokenizer.config'),
      bos: c.str(tok.bos, 'tokenizer.bos'),
      eos: c.str(tok.eos, 'tokenizer.eos'),
      unk: c.optStr(tok.unk, 'tokenizer.unk'),
      pad: c.optStr(tok.pad, 'tokenizer.pad'),
      addBos: c.bool(tok.addBos, 'tokenizer.addBos'),
    },
    specialTokens: (m.specialTokens as Json[]).map((s, i) => c.str(s, `specialTokens[${i}]`)),
    modalities: {},
    templates: {
      base,
      chat: {
        mmgpt: chatTemplate(chat.mmgpt, 'templates.chat.mmgpt'),
        anygpt: chatTemplate(chat.anygpt, 'templates.chat.anygpt'),
      },
      defaultChat: c.oneOf(tpl.defaultChat, 'templates.defaultChat', ['mmgpt', 'anygpt'] as const),
      instructions: Object.fromEntries(
        (['t2i', 'caption', 'asr', 'tts', 't2m', 'm2t'] as const).map((k) => [
          k,
          c.str(instr[k], `templates.instructions.${k}`),
        ]),
      ) as Manifest['templates']['instructions'],
      stopTokens: (tpl.stopTokens as Json[]).map((s, i) => c.str(s, `templates.stopTokens[${i}]`)),
      ...(tpl.forceOutputStart === undefined
        ? {}
        : { forceOutputStart: c.bool(tpl.forceOutputStart, 'templates.forceOutputStart') }),
    },
    presets: {
      text: preset(c, presets.text, 'presets.text'),
      image: preset(c, presets.image, 'presets.image'),
      speech: preset(c, presets.speech, 'presets.speech'),
      music: preset(c, presets.music, 'presets.music'),
      ...(presets.chat === undefined ? {} : { chat: preset(c, presets.chat, 'presets.chat') }),
    },
    ...(m.world === undefined ? {} : { world: world(c, m.world) }),
  };

  for (const key of Object.keys(mods)) {
    if (!['image', 'speech', 'music'].includes(key))
      c.fail(`modalities.${key}`, 'only "image", "speech" or "music"', key);
  }
  if (mods.image !== undefined) {
    const p = 'modalities.image';
    const o = c.obj(mods.image, p);
    const input = c.obj(o.input, `${p}.input`);
    const dec = c.obj(o.decoder, `${p}.decoder`);
    const kind = c.oneOf(dec.kind, `${p}.decoder.kind`, ['direct', 'seed-unclip'] as const);
    let decoder: NonNullable<Manifest['modalities']['image']>['decoder'];
    if (kind === 'direct') {
      decoder = { kind, graph: c.onnxRef(dec.graph, `${p}.decoder.graph`) };
    } else {
      const d = `${p}.decoder`;
      const sch = c.obj(dec.scheduler, `${d}.scheduler`);
      const norm = dec.imageNormalizer === undefined ? undefined : c.obj(dec.imageNormalizer, `${d}.imageNormalizer`);
      const shape = dec.latentShape;
      if (!Array.isArray(shape) || shape.length !== 4)
        c.fail(`${d}.latentShape`, 'an array of 4 positive integers', shape);
      decoder = {
        kind,
        seedDecoder: c.onnxRef(dec.seedDecoder, `${d}.seedDecoder`),
        unet: c.onnxRef(dec.unet, `${d}.unet`),
        vae: c.onnxRef(dec.vae, `${d}.vae`),
        textEmbedding: c.fileRef(dec.textEmbedding, `${d}.textEmbedding`),
        imageNormalizer: norm && {
          mean: c.fileRef(norm.mean, `${d}.imageNormalizer.mean`),
          std: c.fileRef(norm.std, `${d}.imageNormalizer.std`),
        },
        scheduler: {
          numTrainTimesteps: c.posInt(sch.numTrainTimesteps, `${d}.scheduler.numTrainTimesteps`),
          betaStart: c.num(sch.betaStart, `${d}.scheduler.betaStart`),
          betaEnd: c.num(sch.betaEnd, `${d}.scheduler.betaEnd`),
          betaSchedule: c.oneOf(sch.betaSchedule, `${d}.scheduler.betaSchedule`, ['scaled_linear'] as const),
          predictionType: c.oneOf(sch.predictionType, `${d}.scheduler.predictionType`, [
            'v_prediction',
            'epsilon',
          ] as const),
          stepsOffset: c.nonNegInt(sch.stepsOffset, `${d}.scheduler.stepsOffset`),
          setAlphaToOne: c.bool(sch.setAlphaToOne, `${d}.scheduler.setAlphaToOne`),
        },
        steps: c.posInt(dec.steps, `${d}.steps`),
        guidanceScale: c.num(dec.guidanceScale, `${d}.guidanceScale`),
        latentShape: (shape as Json[]).map((x, i) => c.posInt(x, `${d}.latentShape[${i}]`)) as [
          number,
          number,
          number,
          number,
        ],
        vaeScale: c.num(dec.vaeScale, `${d}.vaeScale`),
      };
    }
    manifest.modalities.image = {
      tokens: tokenBlock(c, o.tokens, `${p}.tokens`),
      tokensPerImage: c.posInt(o.tokensPerImage, `${p}.tokensPerImage`),
      input: {
        width: c.posInt(input.width, `${p}.input.width`),
        height: c.posInt(input.height, `${p}.input.height`),
        resize: c.oneOf(input.resize, `${p}.input.resize`, ['fill-bicubic'] as const),
        mean: c.rgb(input.mean, `${p}.input.mean`),
        std: c.rgb(input.std, `${p}.input.std`),
        background: (() => {
          const b = c.str(input.background, `${p}.input.background`);
          if (!/^#[0-9a-fA-F]{6}$/.test(b)) c.fail(`${p}.input.background`, 'a colour "#rrggbb"', b);
          return b;
        })(),
      },
      encoder: c.onnxRef(o.encoder, `${p}.encoder`),
      decoder,
    };
  }
  if (mods.speech !== undefined) {
    const p = 'modalities.speech';
    const o = c.obj(mods.speech, p);
    const ac = o.acoustic === undefined ? undefined : c.obj(o.acoustic, `${p}.acoustic`);
    const trim = o.trimSilence === undefined ? undefined : c.obj(o.trimSilence, `${p}.trimSilence`);
    manifest.modalities.speech = {
      tokens: tokenBlock(c, o.tokens, `${p}.tokens`),
      sampleRate: c.posInt(o.sampleRate, `${p}.sampleRate`),
      frameRate: c.num(o.frameRate, `${p}.frameRate`, 1e-9, Infinity, 'a number > 0'),
      numQuantizers: c.posInt(o.numQuantizers, `${p}.numQuantizers`),
      codebookSize: c.posInt(o.codebookSize, `${p}.codebookSize`),
      maxInputSeconds: c.num(o.maxInputSeconds, `${p}.maxInputSeconds`, 1e-9, Infinity, 'a number > 0'),
      trimSilence: trim && {
        threshold: c.num(trim.threshold, `${p}.trimSilence.threshold`, 0, 1, 'a number in [0, 1]'),
        padSeconds: c.num(trim.padSeconds, `${p}.trimSilence.padSeconds`, 0, 10, 'a number of seconds in [0, 10]'),
      },
      encoder: c.onnxRef(o.encoder, `${p}.encoder`),
      acoustic: ac && {
        graph: c.onnxRef(ac.graph, `${p}.acoustic.graph`),
        numAcousticQuantizers: c.posInt(ac.numAcousticQuantizers, `${p}.acoustic.numAcousticQuantizers`),
        maskId: c.nonNegInt(ac.maskId, `${p}.acoustic.maskId`),
        steps: c.posInt(ac.steps, `${p}.acoustic.steps`),
        topkFraction: c.num(ac.topkFraction, `${p}.acoustic.topkFraction`, 0, 1, 'a number in [0, 1]'),
        defaultVoice: (() => {
          if (ac.defaultVoice === undefined) return undefined;
          const v = c.obj(ac.defaultVoice, `${p}.acoustic.defaultVoice`);
          return {
            file: c.fileRef(v.file, `${p}.acoustic.defaultVoice.file`),
            name: c.str(v.name, `${p}.acoustic.defaultVoice.name`),
          };
        })(),
      },
      decoder: c.onnxRef(o.decoder, `${p}.decoder`),
    };
  }
  if (mods.music !== undefined) {
    const p = 'modalities.music';
    const o = c.obj(mods.music, p);
    const music = {
      tokens: tokenBlock(c, o.tokens, `${p}.tokens`),
      sampleRate: c.posInt(o.sampleRate, `${p}.sampleRate`),
      frameRate: c.num(o.frameRate, `${p}.frameRate`, 1e-9, Infinity, 'a number > 0'),
      numCodebooks: c.posInt(o.numCodebooks, `${p}.numCodebooks`),
      codebookSize: c.posInt(o.codebookSize, `${p}.codebookSize`),
      maxInputSeconds: c.num(o.maxInputSeconds, `${p}.maxInputSeconds`, 1e-9, Infinity, 'a number > 0'),
      chatMaxInputSeconds:
        o.chatMaxInputSeconds === undefined
          ? undefined
          : c.num(o.chatMaxInputSeconds, `${p}.chatMaxInputSeconds`, 1e-9, Infinity, 'a number > 0'),
      encoder: c.onnxRef(o.encoder, `${p}.encoder`),
      decoder: c.onnxRef(o.decoder, `${p}.decoder`),
    };
    if (music.tokens.size !== music.numCodebooks * music.codebookSize) {
      c.fail(
        `${p}.tokens.size`,
        `numCodebooks × codebookSize = ${music.numCodebooks * music.codebookSize}`,
        music.tokens.size,
      );
    }
    manifest.modalities.music = music;
  }
  return manifest;
}

/** Every file the manifest names, in manifest order (the order the identity hash uses). */
export function referencedFiles(m: Manifest): { field: string; ref: FileRef }[] {
  const out: { field: string; ref: FileRef }[] = [];
  const onnx = (field: string, r: OnnxRef) => {
    out.push({ field, ref: r });
    r.externalData?.forEach((e, i) => out.push({ field: `${field}.externalData[${i}]`, ref: e }));
  };
  onnx('llm.graph', m.llm.graph);
  for (const [k, v] of Object.entries(m.llm.variants ?? {})) onnx(`llm.variants.${k}`, v);
  out.push({ field: 'tokenizer.file', ref: m.tokenizer.file });
  if (m.tokenizer.config) out.push({ field: 'tokenizer.config', ref: m.tokenizer.config });
  const img = m.modalities.image;
  if (img) {
    onnx('modalities.image.encoder', img.encoder);
    if (img.decoder.kind === 'direct') onnx('modalities.image.decoder.graph', img.decoder.graph);
    else {
      const d = img.decoder;
      onnx('modalities.image.decoder.seedDecoder', d.seedDecoder);
      onnx('modalities.image.decoder.unet', d.unet);
      onnx('modalities.image.decoder.vae', d.vae);
      out.push({ field: 'modalities.image.decoder.textEmbedding', ref: d.textEmbedding });
      if (d.imageNormalizer) {
        out.push({ field: 'modalities.image.decoder.imageNormalizer.mean', ref: d.imageNormalizer.mean });
        out.push({ field: 'modalities.image.decoder.imageNormalizer.std', ref: d.imageNormalizer.std });
      }
    }
  }
  const sp = m.modalities.speech;
  if (sp) {
    onnx('modalities.speech.encoder', sp.encoder);
    if (sp.acoustic) onnx('modalities.speech.acoustic.graph', sp.acoustic.graph);
    if (sp.acoustic?.defaultVoice)
      out.push({ field: 'modalities.speech.acoustic.defaultVoice.file', ref: sp.acoustic.defaultVoice.file });
    onnx('modalities.speech.decoder', sp.decoder);
  }
  const mu = m.modalities.music;
  if (mu) {
    onnx('modalities.music.encoder', mu.encoder);
    onnx('modalities.music.decoder', mu.decoder);
  }
  return out;
}

/** `world`: per task, word classes and the words seen before each class; every word a non-empty string. */
function world(c: Checker, v: Json): WorldSpec {
  const o = c.obj(v, 'world');
  const tasks = c.obj(o.tasks, 'world.tasks');
  const words = (x: Json, path: string): string[] => {
    if (!Array.isArray(x)) c.fail(path, 'an array of words', x);
    return (x as Json[]).map((w, i) => c.str(w, `${path}[${i}]`));
  };
  const out: WorldSpec = { description: c.optStr(o.description, 'world.description'), tasks: {} };
  for (const [task, tv] of Object.entries(tasks)) {
    const p = `world.tasks.${task}`;
    if (!(WORLD_TASKS as readonly string[]).includes(task)) c.fail(p, `one of ${WORLD_TASKS.join(', ')}`, task);
    const t = c.obj(tv, p);
    const classes = c.obj(t.classes, `${p}.classes`);
    const after = c.obj(t.after, `${p}.after`);
    for (const k of Object.keys(after))
      if (!Object.hasOwn(classes, k)) c.fail(`${p}.after.${k}`, `a class named in ${p}.classes`, k);
    out.tasks[task as keyof WorldSpec['tasks']] = {
      classes: Object.fromEntries(Object.entries(classes).map(([k, x]) => [k, words(x, `${p}.classes.${k}`)])),
      after: Object.fromEntries(Object.entries(after).map(([k, x]) => [k, words(x, `${p}.after.${k}`)])),
    };
  }
  return out;
}
