import assert from 'node:assert/strict';
import { flattenMusic, MediaError, parseTokens, unflattenMusic, type Codecs } from '../../kernel/codecs';
import { loadManifest, openCodecs } from './fixtures';

const modalities = loadManifest().modalities;

function throwsMedia(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) =>
    e instanceof MediaError && re.test(e.message) ? true : assert.fail(`${String(e)} does not match ${re}`),
  );
}

describe('codecs/music codes', () => {
  it('flattens frame-major with a 2048·q offset, as upstream writes <🎶…>', () => {
    const codes = [
      [166, 1],
      [3979 - 2048, 2],
      [6115 - 4096, 3],
      [7914 - 6144, 4],
    ];
    assert.deepEqual(flattenMusic(codes, 2048), [166, 3979, 6115, 7914, 1, 2050, 4099, 6148]);
    assert.deepEqual(unflattenMusic(flattenMusic(codes, 2048), 4, 2048), { codes, warnings: [] });
  });

  it('drops an incomplete last frame with a warning', () => {
    const r = unflattenMusic([1, 2049, 4097, 6145, 7, 2055], 4, 2048);
    assert.deepEqual(r.codes, [[1], [1], [1], [1]]);
    assert.match(r.warnings[0], /6 tokens, not a multiple of 4; dropped the incomplete last frame \(2 tokens\)/);
  });

  it('lets position decide the codebook (value mod 2048) and counts misplaced values', () => {
    const r = unflattenMusic([2049, 1, 4097, 6145], 4, 2048);
    assert.deepEqual(r.codes, [[1], [1], [1], [1]]);
    assert.match(r.warnings[0], /2 music tokens were from another codebook's range .*first: token 0 = 2049/);
  });
});

describe('codecs/raw tokens', () => {
  it('parses a token string with tags', () => {
    assert.deepEqual(parseTokens('<sosp><🗣️12><🗣️7><eosp>', modalities), {
      modality: 'speech',
      codes: [12, 7],
      warnings: [],
    });
  });

  it('parses vocabulary ids given the block bases', () => {
    const ids = { image: { base: 1000, start: 999, end: 1256 }, speech: { base: 2000, start: 1999, end: 2032 } };
    assert.deepEqual(parseTokens([999, 1000, 1255, 1256], modalities, { ids }).codes, [0, 255]);
  });

  it('names the wrong token: an image token inside a speech span', () => {
    throwsMedia(
      () => parseTokens(['<sosp>', '<🗣️1>', '<👀12>', '<eosp>'], modalities),
      /token 2 \(<👀12>\) is an image token, but this is a speech span; it accepts <sosp>, <🗣️0> … <🗣️31>, <eosp>/,
    );
  });

  it('names an out-of-range code and a non-media token', () => {
    throwsMedia(
      () => parseTokens('<sosp><🗣️1><🗣️40>', modalities),
      /token 2 \(<🗣️40>\) has code 40; a speech span accepts/,
    );
    throwsMedia(() => parseTokens('<soim><👀1> hello', modalities), /token 2 \(hello\) is not a media token/);
    throwsMedia(
      () => parseTokens([5, 6], modalities, { ids: { speech: { base: 100 } } }),
      /token 0 \(id 5\) is not a media token of this model/,
    );
  });

  it('requires a modality for plain code numbers and warns about a missing end tag', () => {
    throwsMedia(() => parseTokens([1, 2, 3], modalities), /modality must be given/);
    assert.deepEqual(parseTokens('1 2 3', modalities, { modality: 'speech' }).codes, [1, 2, 3]);
    assert.match(parseTokens('<soim><👀1>', modalities).warnings[0], /no end tag <eoim>/);
  });

  it('parses music tokens into [Q][T] codes', () => {
    const r = parseTokens('<somu><🎶1><🎶2049><🎶4097><🎶6145><eomu>', modalities);
    assert.equal(r.modality, 'music');
    assert.deepEqual(r.codes, [[1], [1], [1], [1]]);
  });

  describe('decodeTokens → media', () => {
    let codecs: Codecs;
    before(async () => {
      codecs = await openCodecs('direct');
    });
    after(() => codecs.dispose());

    it('decodes each modality from strings', async () => {
      const img = await codecs.decodeTokens(`<soim>${[1, 2, 3, 4, 5, 6, 7, 8].map((k) => `<👀${k}>`).join('')}<eoim>`);
      assert.equal(img.modality, 'image');
      const sp = await codecs.decodeTokens('<sosp><🗣️1><🗣️2><🗣️3><eosp>', { seed: 1 });
      assert.equal(sp.modality, 'speech');
      const mu = await codecs.decodeTokens('<somu><🎶1><🎶2049><🎶4097><🎶6145><🎶5><eomu>');
      assert.equal(mu.modality, 'music');
      assert.match(mu.warnings.join(), /dropped the incomplete last frame/);
      assert.equal(mu.modality === 'music' && mu.samples.length, 640);
    });

    it('decodes a Generation span and notes an unclosed one', async () => {
      const r = await codecs.decodeSpan(
        { kind: 'speech', modality: 'speech', start: 0, end: 3, codes: [1, 2, 3], role: 'generated', complete: false },
        { seed: 2 },
      );
      assert.match(r.warnings[0], /span was not closed/);
    });
  });
});
