import assert from 'node:assert/strict';
import { loadPackage, type ModelPackage } from '../../kernel/engine/package';
import { DET } from './fixtures';

/**
 * Golden ids for the fixture tokenizer (LLaMA "legacy" tokenizer.json: added tokens are split first, then every
 * remaining chunk gets the ▁ dummy prefix). Ids: <s>=1, ▁=3, ▁:=134, [Human]=135, [MMGPT]=136, <eoh>=137, <eos>=138,
 * <👀k>=139+k, <soim>=155, <eoim>=156, <🗣️k>=157+k, <sosp>=165, <eosp>=166, <🎶k>=167+k, <somu>=183, <eomu>=184.
 */
const GOLDEN: [string, number[], string[]][] = [
  ['hi there', [85, 90], ['▁hi', '▁there']],
  ['Hello world', [3, 37, 8, 15, 15, 18, 131], ['▁', 'H', 'e', 'l', 'l', 'o', '▁world']],
  ['<soim><👀0><👀15><eoim>', [155, 139, 154, 156], ['<soim>', '<👀0>', '<👀15>', '<eoim>']],
  ['<sosp><🗣️0><🗣️7><eosp>', [165, 157, 164, 166], ['<sosp>', '<🗣️0>', '<🗣️7>', '<eosp>']],
  [
    '<somu><🎶0><🎶4><🎶8><🎶12><eomu>',
    [183, 167, 171, 175, 179, 184],
    ['<somu>', '<🎶0>', '<🎶4>', '<🎶8>', '<🎶12>', '<eomu>'],
  ],
  // adjacent tags, no text between them
  ['<eoh><eos>', [137, 138], ['<eoh>', '<eos>']],
  // spacing around [MMGPT]: the ":" after an added token gets the dummy prefix
  ['[MMGPT]:', [136, 134], ['[MMGPT]', '▁:']],
  ['[MMGPT]: hi', [136, 134, 85], ['[MMGPT]', '▁:', '▁hi']],
  [
    '[Human]: say<eoh> [MMGPT]:',
    [135, 134, 96, 137, 3, 3, 136, 134],
    ['[Human]', '▁:', '▁say', '<eoh>', '▁', '▁', '[MMGPT]', '▁:'],
  ],
  // "<eom>" is not a token in this vocabulary: plain characters
  ['a<eom>', [106, 79, 8, 18, 16, 80], ['▁a', '<', 'e', 'o', 'm', '>']],
  // speech prefix without U+FE0F is not the speech token
  ['<\u{1F5E3}0>', [3, 79, 0, 56, 80], ['▁', '<', '<unk>', '0', '>']],
];

describe('engine/tokenizer: golden ids', () => {
  let pkg: ModelPackage;
  before(async () => {
    pkg = await loadPackage(DET);
  });
  for (const [text, ids, pieces] of GOLDEN) {
    it(JSON.stringify(text), () => {
      const got = pkg.tokenizer.encode(text);
      assert.deepEqual(got, ids);
      assert.deepEqual(
        got.map((i) => pkg.tokenizer.piece(i)),
        pieces,
      );
    });
  }
  it('decodes text without the dummy prefix and keeps modality tokens as written', () => {
    assert.equal(pkg.tokenizer.decode([85, 90]), 'hi there');
    assert.equal(pkg.tokenizer.decode([]), '');
    assert.equal(pkg.tokenizer.piece(160), '<🗣️3>');
  });
});
