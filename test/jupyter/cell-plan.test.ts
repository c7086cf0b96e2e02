import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '../../kernel/engine/manifest-schema';
import { planCell, type CellDefaults, type PlanInput } from '../../kernel/jupyter/cell/plan';
import { PromptError, cellSeed, chatPrompt, mediaTokenString, parseCell, type Turn } from '../../kernel/prompt';

// A real package manifest (the media fixture: upstream templates, per-modality presets that differ).
const M = validateManifest(
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'engine', 'media', 'anygpt.json'), 'utf8')),
);

function plan(source: string, more: Partial<PlanInput> = {}) {
  const cell = parseCell(source);
  const media = cell.media.map((ref) => ({
    modality: ref.modality,
    tokens: mediaTokenString(M, { modality: 'image', codes: [1, 2, 3, 4, 5, 6, 7, 0] }),
    ref,
  }));
  return planCell({ cell, source, defaults: {}, manifest: M, media, history: [], ...more });
}

describe('cell plan: settings → GenerationParams and the prompt (no model)', () => {
  it('a plain cell is a chat turn with the text preset, the default template and a seed from its source', () => {
    const p = plan('Hello there');
    assert.equal(p.task, 'chat');
    assert.equal(p.outputModality, 'text');
    assert.equal(p.prompt, chatPrompt(M.templates.chat.mmgpt, [], 'Hello there'));
    assert.deepEqual(p.params, {
      ...M.presets.text,
      seed: cellSeed(0, 'Hello there'),
      constrain: true,
      preset: 'text',
      template: 'mmgpt',
    });
    assert.equal(p.seedExplicit, false);
    assert.deepEqual(p.chatTurn, { userMessage: 'Hello there' });
    assert.deepEqual(p.context, { task: 'chat', cellId: undefined, contextTurns: [] });
  });

  it('the task picks the preset of its output modality; a base task is not a chat turn', () => {
    const p = plan('%task t2m\na calm piano');
    assert.equal(p.outputModality, 'music');
    assert.equal(p.params.topK, M.presets.music.topK);
    assert.equal(p.params.repetitionPenalty, M.presets.music.repetitionPenalty);
    assert.equal(p.params.template, 'base');
    assert.equal(p.chatTurn, undefined);
    assert.ok(p.prompt.includes('a calm piano'));
  });

  it("a converted AnyGPT (its manifest from tools/convert): chat takes upstream's chat preset, base tasks end at [MMGPT]:", () => {
    const converted = validateManifest(
      JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'convert', 'pkg-fp32', 'anygpt.json'), 'utf8')),
    );
    assert.ok(converted.presets.chat, 'the converter writes a chat preset');
    assert.equal(converted.templates.forceOutputStart, false);
    // That fixture converts the LLM alone: its presets and templates over the media fixture's modalities.
    const real = {
      ...M,
      presets: converted.presets,
      templates: { ...M.templates, forceOutputStart: converted.templates.forceOutputStart },
    };
    const chat = plan('Hello there', { manifest: real });
    // upstream config/generate_config.json: 500 new tokens, 5 beams with sampling; min_new_tokens never acts there
    assert.equal(chat.params.numBeams, 5);
    assert.equal(chat.params.doSample, true);
    assert.equal(chat.params.maxNewTokens, 500);
    assert.equal(chat.params.minNewTokens, 0);
    assert.equal(chat.params.preset, 'text');
    const base = plan('%task t2i\na red circle', { manifest: real });
    assert.equal(base.params.numBeams, 1, 'base tasks keep their modality preset');
    assert.match(base.prompt, /\[MMGPT\]:$/, 'upstream ends the prompt at [MMGPT]: and lets the model write <soim>');
    const forced = plan('%task t2i\n%constrain on\na red circle', { manifest: real });
    assert.match(forced.prompt, /<soim>$/, 'forcing stays an option');
    // nano-like packages (no chat preset, forceOutputStart absent) keep the text preset and the forced tag
    assert.equal(M.presets.chat, undefined);
    assert.match(plan('%task t2i\na red circle').prompt, /<soim>$/);
  });

  it('cell magics override %config defaults, which override the preset', () => {
    const defaults: CellDefaults = { top_k: 7, temperature: 0.5, max_new_tokens: 9, seed: 42 };
    const p = plan('%top_k 3\nhi', { defaults });
    assert.equal(p.params.topK, 3);
    assert.equal(p.params.temperature, 0.5);
    assert.equal(p.params.maxNewTokens, 9);
    assert.equal(p.params.topP, M.presets.text.topP);
    assert.equal(p.notebookSeed, 42);
    assert.equal(p.seed, cellSeed(42, '%top_k 3\nhi'));
  });

  it('%temperature 0 is greedy and keeps the preset temperature the engine needs', () => {
    const p = plan('%temperature 0\nhi');
    assert.equal(p.params.doSample, false);
    assert.equal(p.params.temperature, M.presets.text.temperature);
  });

  it('%seed is explicit and used as is', () => {
    const p = plan('%seed 5\nhi');
    assert.equal(p.seed, 5);
    assert.equal(p.params.seed, 5);
    assert.equal(p.seedExplicit, true);
  });

  it('a chat cell sees the history it is given and records its turns', () => {
    const history: Turn[] = [{ user: 'a', assistant: 'b', executionCount: 3, cellId: 'x' }];
    const p = plan('%template anygpt\nnext', { history, cellId: 'y' });
    assert.equal(p.prompt, chatPrompt(M.templates.chat.anygpt, history, 'next'));
    assert.deepEqual(p.context, { task: 'chat', cellId: 'y', contextTurns: [3] });
    assert.equal(p.params.template, 'anygpt');
  });

  it('%raw substitutes media token strings in place and ignores the history', () => {
    const history: Turn[] = [{ user: 'a', assistant: 'b', executionCount: 3 }];
    const p = plan('%raw\nA ![image](x.png) B', { history });
    const tokens = mediaTokenString(M, { modality: 'image', codes: [1, 2, 3, 4, 5, 6, 7, 0] });
    assert.equal(p.prompt, `A ${tokens} B`);
    assert.equal(p.context.task, 'raw');
    assert.equal(p.chatTurn, undefined);
  });

  it('an empty chat message is a located error', () => {
    assert.throws(
      () => plan('%top_k 3\n'),
      (e: unknown) => e instanceof PromptError && e.message === 'empty message',
    );
  });
});
