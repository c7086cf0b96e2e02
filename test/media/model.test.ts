// Pure view-model logic of the token inspector and audio maths (no browser).
import assert from 'node:assert/strict';
import { layoutRows, rowOf, visibleRows } from '../../media/tokens/layout';
import { buildItems, displayPiece, logprobHue, matches, summarize } from '../../media/tokens/model';
import { envelope, spectrogram } from '../../media/audio/dsp';
import { decodeWav } from '../../media/audio/wav';
import { makeGeneration, makeWav } from './fixtures';

describe('token inspector model', () => {
  it('collapses each media span into one group and keeps tags outside it', () => {
    const gen = makeGeneration({ image: true, musicFrames: 10 });
    const groups = buildItems(gen).filter((i) => i.kind === 'group');
    assert.deepEqual(
      groups.map((g) => g.kind === 'group' && g.label),
      ['image \u00b7 32 tokens', 'music \u00b7 40 tokens'],
    );
    // expanded: every token is its own item, after a header chip per media span that collapses it again
    const expanded = buildItems(gen, new Set(gen.spans.map((_, i) => i)));
    assert.equal(expanded.length, gen.tokens.length + 2);
    assert.deepEqual(
      expanded.filter((i) => i.kind === 'group').map((g) => g.kind === 'group' && g.expanded),
      [true, true],
    );
  });

  it('merges byte-fallback tokens into whole characters but leaves a lone byte alone', () => {
    const gen = makeGeneration({ pieces: ['<0xF0>', '<0x9F>', '<0x8E>', '<0xB6>', '<0xE4>'] });
    const texts = buildItems(gen).map((i) => i.kind === 'token' && i.text);
    assert.ok(texts.includes('\u{1F3B6}'));
    assert.ok(texts.includes('<0xE4>'));
  });

  it('counts, searches and colours', () => {
    const gen = makeGeneration({ speechFrames: 5, textTokens: 3 });
    const s = summarize(gen);
    assert.equal(s.counts.speech, 5);
    assert.equal(s.prompt + s.generated, gen.tokens.length);
    const items = buildItems(gen);
    const sp = items.find((i) => i.kind === 'group')!;
    assert.ok(matches(gen, sp, String(gen.tokens[sp.first].id)));
    assert.ok(!matches(gen, sp, 'zzz'));
    assert.equal(displayPiece('\u2581cat'), ' cat');
    const t = gen.tokens.find((x) => x.generated)!;
    assert.equal(logprobHue({ ...t, logprob: 0 }, 'logprob'), 130);
    assert.equal(logprobHue({ ...t, logprob: -50 }, 'logprob'), 0);
    assert.equal(logprobHue(gen.tokens[0], 'logprob'), undefined);
  });

  it('reads WordPiece continuations (##) as glued to the previous piece', () => {
    const gen = makeGeneration({ textTokens: 0 });
    for (const t of gen.tokens) t.piece = t.piece.replace(/\u2581/g, '');
    const at = gen.tokens.length - 1;
    gen.tokens.splice(
      at,
      0,
      { ...gen.tokens[at], piece: 'play', span: 1 },
      { ...gen.tokens[at], piece: '##ing', span: 1 },
    );
    const texts = buildItems(gen).map((i) => i.kind === 'token' && i.text);
    assert.ok(texts.includes(' play') && texts.includes('ing'), String(texts));
    assert.ok(texts.includes('<eos>'), 'special tokens stay raw');
  });

  it('lays chips out in rows and finds visible rows', () => {
    const rows = layoutRows([50, 50, 50, 50, 200], 120, 4);
    assert.deepEqual(rows, [
      { start: 0, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 5 },
    ]);
    assert.equal(rowOf(rows, 3), 1);
    assert.deepEqual(visibleRows(240, 100, 24, 1000, 2), [8, 17]);
  });
});

describe('audio maths', () => {
  it('decodes PCM16 WAV and summarises it', () => {
    const wav = decodeWav(new Uint8Array(makeWav('speech', 0.5, 16000)));
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.samples.length, 8000);
    const env = envelope(wav.samples, 100);
    assert.equal(env.length, 200);
    assert.ok(Math.max(...env) > 0.3);
    const sp = spectrogram(wav.samples, 50);
    assert.equal(sp.bins, 256);
    assert.ok(sp.columns <= 50 && sp.columns > 10);
  });
});
