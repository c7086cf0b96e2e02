/**
 * tools/convert/tokenizer_convert.py: the converted tokenizer.json, run by @huggingface/tokenizers (the engine's
 * tokenizer library), against golden ids from our Python statement of the slow transformers-4.34 LlamaTokenizer
 * rules (tools/convert/spm.py) on the fake SentencePiece model. The same converter on LLaMA-2's real vocabulary
 * against sentencepiece: tokenizer-llama.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TextTokenizer } from '../../kernel/engine/tokenizer';

const FIX = path.join(__dirname, '..', 'fixtures', 'convert');
const SP = '\u2581';

function load(dir: string) {
  const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  return { tok: new Tokenizer(json, config), json };
}

describe('convert: tokenizer.json reproduces the slow LLaMA tokenizer', () => {
  it('legacy spacing (tokenizer_config without "legacy", 4.34 default): every golden prompt exact', () => {
    const { tok } = load(path.join(FIX, 'pkg-fp32'));
    const g = JSON.parse(readFileSync(path.join(FIX, 'pkg-fp32', 'checks', 'tokenizer-goldens.json'), 'utf8'));
    assert.equal(g.legacy, true);
    assert.ok(g.goldens.length >= 10);
    for (const { text, ids } of g.goldens) assert.deepEqual(tok.encode(text).ids, ids, JSON.stringify(text));
  });

  it('legacy: added tokens are single ids, "[MMGPT]:" is [MMGPT] + "▁:"-style chunk, U+FE0F speech tokens intact', () => {
    const { tok, json } = load(path.join(FIX, 'pkg-fp32'));
    const id = (s: string) => json.added_tokens.find((t: { content: string }) => t.content === s).id;
    const enc = tok.encode('<sosp><\u{1F5E3}\u{FE0F}3><eosp>[MMGPT]:', { add_special_tokens: false });
    assert.deepEqual(enc.ids.slice(0, 4), [id('<sosp>'), id('<\u{1F5E3}\u{FE0F}3>'), id('<eosp>'), id('[MMGPT]')]);
    assert.ok(enc.tokens[4].startsWith(SP), `chunk after an added token gets the dummy prefix: ${enc.tokens[4]}`);
    // without U+FE0F it is not the speech token
    assert.ok(!tok.encode('<\u{1F5E3}3>', { add_special_tokens: false }).ids.includes(id('<\u{1F5E3}\u{FE0F}3>')));
  });

  it('non-legacy ("legacy": false), through the engine tokenizer: every golden prompt exact', () => {
    // The library alone differs from the slow tokenizer on text that starts with an added token (slow: a lone
    // "▁" first) or with a space (slow: "▁" + " …"); kernel/engine/tokenizer.ts applies the slow start-of-text rule.
    const dir = path.join(FIX, 'tok-nonlegacy');
    const tok = new TextTokenizer(
      JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
    );
    const g = JSON.parse(readFileSync(path.join(dir, 'goldens.json'), 'utf8'));
    assert.equal(g.legacy, false);
    for (const { text, ids } of g.goldens as { text: string; ids: number[] }[])
      assert.deepEqual([1, ...tok.encode(text)], ids, JSON.stringify(text));
    assert.ok(g.goldens.some((x: { text: string }) => x.text.startsWith(' ')));
    assert.ok(g.goldens.some((x: { text: string }) => x.text.startsWith('<sosp>')));
  });
});
