/** The character bound on prompts (kernel/engine/prompt-limit.ts) from real tokenizer.json files. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { charsPerToken, overLimit, promptLimit } from '../../kernel/engine/prompt-limit';

const ROOT = join(__dirname, '..', '..');
const tok = (p: string) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));

describe('prompt character bound', () => {
  it('LLaMA BPE with byte fallback: the longest piece, whitespace counted', () => {
    const j = tok('test/fixtures/convert/pkg-fp16/tokenizer.json');
    const c = charsPerToken(j)!;
    const longest = Math.max(
      ...Object.keys(j.model.vocab).map((k) => k.length),
      ...j.added_tokens.map((t: { content: string }) => t.content.length),
    );
    assert.deepEqual(c, { chars: longest, countWhitespace: true });
  });

  it('WordPiece splitting on whitespace: max_input_chars_per_word, whitespace not counted', () => {
    const limit = promptLimit(
      {
        model: { type: 'WordPiece', vocab: { a: 0 }, max_input_chars_per_word: 100 },
        pre_tokenizer: { type: 'WhitespaceSplit' },
      },
      512,
    )!;
    assert.equal(limit.maxChars, 51200);
    assert.equal(overLimit(' '.repeat(10_000_000) + 'x', limit), undefined, 'whitespace alone never overflows');
    assert.match(overLimit('x'.repeat(51201), limit)!, /more than 51,200 characters other than whitespace/);
  });

  it('no bound where one token can cover unbounded input', () => {
    assert.equal(charsPerToken({ model: { type: 'BPE', vocab: {}, unk_token: '<unk>', fuse_unk: true } }), undefined);
    assert.equal(charsPerToken({ model: { type: 'BPE', vocab: {} }, normalizer: { type: 'StripAccents' } }), undefined);
    assert.equal(charsPerToken({ model: { type: 'BPE', vocab: { abc: 0 } }, normalizer: { type: 'NFC' } })!.chars, 9);
  });
});
