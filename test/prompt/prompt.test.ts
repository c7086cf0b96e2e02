import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '../../kernel/engine/manifest-schema';
import {
  Conversation,
  PromptError,
  basePrompt,
  cellSeed,
  chatPrompt,
  chatUserMessage,
  describePiece,
  helpText,
  mediaTokenString,
  parseCell,
  parseModalityTokens,
} from '../../kernel/prompt';

// A real package manifest, validated by the engine: the media fixture (upstream templates and token layout:
// image 8 tokens per image, speech 32 codes, music 4 codebooks of 2048 codes, frame-major).
const M = validateManifest(
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'engine', 'media', 'anygpt.json'), 'utf8')),
);

function err(fn: () => unknown): PromptError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PromptError, `expected PromptError, got ${e}`);
    return e;
  }
  assert.fail('expected a PromptError');
}

describe('prompt: parse', () => {
  it('plain text is a chat message', () => {
    const c = parseCell('Hello there,\n  how are you?');
    assert.equal(c.action.kind, 'generate');
    assert.equal(c.text, 'Hello there,\nhow are you?');
    assert.deepEqual(c.magics, []);
  });

  it('magics at the top with typed, validated values', () => {
    const c = parseCell('%task t2i\n%seed 42\n%temperature 0.7\n%top_k 20\n%constrain off\n\nA red fox');
    assert.deepEqual(c.settings, { task: 't2i', seed: 42, temperature: 0.7, topK: 20, constrain: false });
    assert.equal(c.text, 'A red fox');
    assert.equal(c.bodyLine, 7);
  });

  it('media references with line and column; out:N; extension inference for images', () => {
    const c = parseCell(
      '%task chat\nLook ![image](cat.png) and\n![speech](a b.wav) ![a cat](x.jpg) ![image](out:3) ![music](out:last)',
    );
    assert.deepEqual(
      c.media.map((m) => [m.modality, m.target, m.line, m.col, m.output]),
      [
        ['image', 'cat.png', 2, 6, undefined],
        ['speech', 'a b.wav', 3, 1, undefined],
        ['image', 'x.jpg', 3, 20, undefined],
        ['image', 'out:3', 3, 36, 3],
        ['music', 'out:last', 3, 52, 'last'],
      ],
    );
    assert.equal(c.text, 'Look and');
  });

  it('%top_p 0 and %config top_p=0 fail at the magic: top_p is (0, 1], the range the engine accepts', () => {
    let e = err(() => parseCell('%seed 1\n%top_p 0\nhi'));
    assert.deepEqual([e.line, e.col, e.length], [2, 8, 1]);
    assert.equal(e.message, '%top_p 0 is out of range (0, 1]');
    e = err(() => parseCell('%config temperature=0.5 top_p=0'));
    assert.deepEqual([e.line, e.col], [1, 31]);
    assert.equal(e.message, '%top_p 0 is out of range (0, 1]');
    assert.equal(parseCell('%top_p 1e-9\nhi').settings.topP, 1e-9);
    assert.equal(parseCell('%top_p 1\nhi').settings.topP, 1);
    assert.match(helpText('top_p'), /range \(0, 1\]$/);
  });

  it('errors carry line and column', () => {
    let e = err(() => parseCell('%tempreature 0.5\nhi'));
    assert.deepEqual([e.line, e.col], [1, 1]);
    assert.match(e.message, /did you mean %temperature/);
    e = err(() => parseCell('%seed 42\n  %top_p 7\nhi'));
    assert.deepEqual([e.line, e.col], [2, 10]);
    assert.match(e.message, /out of range/);
    e = err(() => parseCell('%task t2x\nhi'));
    assert.deepEqual([e.line, e.col], [1, 7]);
    assert.match(e.message, /did you mean t2i/);
    e = err(() => parseCell('hello ![video](x.mp4)'));
    assert.deepEqual([e.line, e.col], [1, 7]);
    e = err(() => parseCell('hello\n%seed 3'));
    assert.deepEqual([e.line, e.col], [2, 1]);
    assert.match(e.message, /top of the cell/);
    e = err(() => parseCell('%config temprature=1'));
    assert.match(e.message, /did you mean temperature/);
    e = err(() => parseCell('%tokens\n%decode image 1 2'));
    assert.match(e.message, /cannot be combined/);
  });

  it('actions: tokens, raw, decode, config, help, reset-only', () => {
    assert.equal(parseCell('%tokens\nhi').action.kind, 'tokens');
    const raw = parseCell('%raw\n[Human]: hi<eoh> [MMGPT]:');
    assert.equal(raw.raw, true);
    assert.equal(raw.body, '[Human]: hi<eoh> [MMGPT]:');
    const d = parseCell('%decode speech <🗣️1><🗣️2>\n<🗣️3>');
    assert.equal(d.action.kind, 'decode');
    assert.deepEqual(parseCell('%config seed=7 task=tts constrain=on').action, {
      kind: 'config',
      set: { seed: 7, task: 'tts', constrain: true },
      line: 1,
    });
    assert.deepEqual(parseCell('%config overflow=drop-oldest').action, {
      kind: 'config',
      set: { overflow: 'drop-oldest' },
      line: 1,
    });
    assert.equal(parseCell('%overflow drop-oldest\nhi').settings.overflow, 'drop-oldest');
    assert.deepEqual(parseCell('%help task').action, { kind: 'help', topic: 'task' });
    const r = parseCell('%reset');
    assert.equal(r.reset, true);
    assert.equal(r.action.kind, 'none');
    assert.equal(parseCell('%voice off').voice, null);
  });
});

describe('prompt: templates (docs/anygpt.md, "Prompt templates")', () => {
  it('media token strings, music frame-major with codebook offsets', () => {
    assert.equal(mediaTokenString(M, { modality: 'image', codes: [11, 22, 33] }), '<soim><👀11><👀22><👀33><eoim>');
    assert.equal(mediaTokenString(M, { modality: 'speech', codes: [5, 7] }), '<sosp><🗣️5><🗣️7><eosp>');
    assert.equal(
      mediaTokenString(M, {
        modality: 'music',
        codes: [
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 8],
        ],
      }),
      '<somu><🎶1><🎶2051><🎶4101><🎶6151><🎶2><🎶2052><🎶4102><🎶6152><eomu>',
    );
  });

  it('base prompts exactly as upstream', () => {
    assert.equal(
      basePrompt(M, 't2i', 'A cat.', []),
      '[Human]: Produce an image that conveys the concept of the text. This is input: A cat.<eoh> [MMGPT]:',
    );
    const img = { modality: 'image' as const, tokens: '<soim><👀11><👀22><👀33><eoim>' };
    assert.equal(
      basePrompt(M, 'caption', '', [img]),
      '[Human]: Describe the people and objects in this picture. <soim><👀11><👀22><👀33><eoim><eoh> [MMGPT]:',
    );
    assert.equal(
      basePrompt(M, 'caption', 'What colour is it?', [img]),
      '[Human]: What colour is it? <soim><👀11><👀22><👀33><eoim><eoh> [MMGPT]:',
    );
    assert.throws(() => basePrompt(M, 'asr', '', []), /needs a speech attachment/);
    assert.throws(() => basePrompt(M, 'caption', '', []), /%task caption needs an image attachment/);
    assert.throws(() => basePrompt(M, 'm2t', '', []), /needs a music attachment/);
  });

  it('forcing the output modality ends media tasks with the start tag (upstream force_*_generation)', () => {
    assert.equal(
      basePrompt(M, 't2i', 'A cat.', [], 1, { forceOutput: true }),
      '[Human]: Produce an image that conveys the concept of the text. This is input: A cat.<eoh> [MMGPT]: <soim>',
    );
    assert.match(basePrompt(M, 'tts', 'hello', [], 1, { forceOutput: true }), /\[MMGPT\]: <sosp>$/);
    assert.match(basePrompt(M, 't2m', 'calm piano', [], 1, { forceOutput: true }), /\[MMGPT\]: <somu>$/);
    const img = { modality: 'image' as const, tokens: '<soim><👀11><eoim>' };
    assert.match(
      basePrompt(M, 'caption', '', [img], 1, { forceOutput: true }),
      /\[MMGPT\]:$/,
      'text answers are never forced',
    );
  });

  it('chat prompt with system, history and \\n separators (upstream get_prompt)', () => {
    const t = M.templates.chat.mmgpt;
    const user = chatUserMessage('Draw it', [
      { modality: 'speech', tokens: '<sosp><🗣️5><🗣️5><🗣️7><eosp>' },
      { modality: 'image', tokens: '<soim><👀11><👀22><👀33><eoim>' },
    ]);
    assert.equal(
      chatPrompt(t, [], user),
      'You are an AI assistant named MMGPT who can understand and generate multimodal content, including text, speech, images and audio.\n[Human]: <soim><👀11><👀22><👀33><eoim> <sosp><🗣️5><🗣️5><🗣️7><eosp> Draw it Please recognize the voice command and give reply and voice<eoh>\n[MMGPT]:',
    );
    assert.equal(
      chatPrompt(t, [{ user: 'hi', assistant: 'hello' }], 'more'),
      `${t.system}\n[Human]: hi<eoh>\n[MMGPT]: hello<eos>\n[Human]: more<eoh>\n[MMGPT]:`,
    );
  });

  it('%decode token lists: tokens or numbers, precise errors', () => {
    assert.deepEqual(parseModalityTokens(M, 'speech', '<sosp><🗣️1><🗣️2> 3<eosp>', 1, 15), {
      modality: 'speech',
      codes: [1, 2, 3],
    });
    assert.deepEqual(parseModalityTokens(M, 'music', '1 2051 4101 6151', 1, 1).codes, [[1], [3], [5], [7]]);
    // A truncated music list decodes what it can and says what it dropped.
    const warnings: string[] = [];
    assert.deepEqual(parseModalityTokens(M, 'music', '1 2051 4101 6151 9 2050', 1, 1, warnings).codes, [
      [1],
      [3],
      [5],
      [7],
    ]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /6, not a multiple of 4 codebooks; dropped the incomplete last frame \(2 tokens\)/);
    parseModalityTokens(M, 'music', '1 2 4101 6151', 1, 1, warnings);
    assert.match(warnings[1], /1 music token is from another codebook's range/);
    let e = err(() => parseModalityTokens(M, 'speech', '<🗣️1>\n <👀2>', 1, 15));
    assert.deepEqual([e.line, e.col], [2, 2]);
    e = err(() => parseModalityTokens(M, 'speech', '<🗣️5000>', 3, 15));
    assert.match(e.message, /out of range/);
    assert.equal(M.modalities.image!.tokensPerImage, 8);
    assert.throws(() => parseModalityTokens(M, 'image', '1 2 3', 1, 1), /exactly 8/);
  });

  it('describes pieces for the inspector', () => {
    assert.equal(describePiece(M, '<👀12>'), 'image code 12');
    assert.match(describePiece(M, '<🎶2050>')!, /code 2 of codebook 1/);
    assert.equal(describePiece(M, '<eoh>'), 'end of the human turn');
  });
});

describe('prompt: conversation and seeds', () => {
  it('re-running a cell replaces its own turn; context is the turns before it', () => {
    const c = new Conversation();
    c.commit({ cellId: 'a', executionCount: 1, user: 'u1', assistant: 'a1' });
    c.commit({ cellId: 'b', executionCount: 2, user: 'u2', assistant: 'a2' });
    assert.deepEqual(
      c.contextFor('b').map((t) => t.user),
      ['u1'],
    );
    assert.deepEqual(
      c.contextFor('new').map((t) => t.user),
      ['u1', 'u2'],
    );
    c.commit({ cellId: 'a', executionCount: 3, user: 'u1', assistant: 'a1bis' });
    assert.deepEqual(
      c.all().map((t) => [t.cellId, t.assistant]),
      [
        ['a', 'a1bis'],
        ['b', 'a2'],
      ],
    );
    c.commit({ executionCount: 4, user: 'x', assistant: 'y' });
    assert.equal(c.length, 3);
    c.reset();
    assert.equal(c.length, 0);
  });

  it('cell seeds are deterministic, depend on notebook seed and text, not line endings', () => {
    assert.equal(cellSeed(0, 'hello'), cellSeed(0, 'hello\r\n'));
    assert.notEqual(cellSeed(0, 'hello'), cellSeed(1, 'hello'));
    assert.notEqual(cellSeed(0, 'hello'), cellSeed(0, 'hullo'));
    assert.ok(cellSeed(0, 'x') >= 0 && cellSeed(0, 'x') < 2 ** 31);
  });
});
