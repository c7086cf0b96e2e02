// %history's text (issue 24 item 7): long media token runs are shortened to their first and last codes with a count,
// and every line fits a narrow output (a notebook output does not wrap a long line; it cuts it off).
import assert from 'node:assert/strict';
import { describeHistory, shortenTokenRuns } from '../../kernel/jupyter/cell/session-report';

describe('%history text', () => {
  const codes = Array.from({ length: 64 }, (_, i) => `<👀${(i * 37 + 11) % 8192}>`).join('');

  it('shortens a run of media tokens to its first and last codes with a count', () => {
    assert.equal(shortenTokenRuns(`a <soim>${codes}<eoim> b`), `a <soim><👀11><👀48>…(64 codes)…<👀2342><eoim> b`);
    assert.equal(shortenTokenRuns('<👀1><👀2> two codes stay'), '<👀1><👀2> two codes stay');
  });

  it('lists turns in lines of at most 100 characters, long paths and words included', () => {
    const path = '/home/someone/projects/anygpt/' + 'very-long-folder-name/'.repeat(8) + 'picture.png';
    const text = describeHistory([
      {
        user: `draw a red circle ![image](${path}) please`,
        assistant: `here it is <soim>${codes}<eoim>`,
        executionCount: 3,
        cellId: 'abcdef1234',
      },
      { user: 'and now '.repeat(30), assistant: 'ok', executionCount: 4 },
    ]);
    const lines = text.split('\n');
    for (const l of lines) assert.ok(l.length <= 100, `${l.length} chars: ${l}`);
    assert.match(text, /^1\. \[3\] \(cell abcdef12\)\n {3}user: draw a red circle/);
    assert.match(text, /assistant: here it is <soim><👀11><👀48>…\(64 codes\)…<👀2342><eoim>/);
    assert.ok(text.replace(/\n +/g, '').includes(path.slice(0, 60).replace(/ /g, '')), 'the path is all there');
    assert.match(text, /\n2\. \[4\]\n {3}user: and now/);
  });
});
