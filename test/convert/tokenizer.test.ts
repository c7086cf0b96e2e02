/**
 * tools/convert/tokenizer_convert.py: the converted tokenizer.json, run by @huggingface/tokenizers (the engine's
 * tokenizer library), against golden ids from our Python statement of the slow transformers-4.34 LlamaTokenizer
 * rules (tools/convert/spm.py) on the fake SentencePiece model. Goldens from the real transformers 4.34.1 on the
 * real AnyGPT files are still needed (docs/real-model.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

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

  it('non-legacy ("legacy": false): exact except the two documented cases', () => {
    const dir = path.join(FIX, 'tok-nonlegacy');
    const { tok, json } = load(dir);
    const g = JSON.parse(readFileSync(path.join(dir, 'goldens.json'), 'utf8'));
    const added = new Set<string>(
      json.added_tokens.filter((t: { special: boolean }) => !t.special).map((t: { content: string }) => t.content),
    );
    const lone = json.model.vocab[SP] as number;
    let exact = 0;
    for (const { text, ids } of g.goldens as { text: string; ids: number[] }[]) {
      const got = tok.encode(text).ids;
      const startsWithAdded = [...added].some((a) => text.startsWith(a));
      if (startsWithAdded) {
        // slow: "▁" + text, split on added tokens → a lone "▁" id before the first (non-special) added token;
        // tokenizers.js has none. (Before a special token such as </s> the slow tokenizer drops it too.)
        assert.equal(ids[1], lone, JSON.stringify(text));
        assert.deepEqual(got, [ids[0], ...ids.slice(2)], JSON.stringify(text));
      } else if (text.startsWith(' ')) {
        assert.notDeepEqual(got, ids); // slow: "▁▁…"; Metaspace does not prepend to text that starts with a space
      } else {
        assert.deepEqual(got, ids, JSON.stringify(text));
        exact++;
      }
    }
    assert.ok(exact >= 4);
  });
});
