/**
 * What a cell sends to a remote kernel's folder (common/remote-media.ts): the local files its media links and
 * %voice name, never out:N, URLs or `%voice off`; and the per-notebook folder name on the server.
 */
import assert from 'node:assert/strict';
import { localMediaTargets, remoteNotebookFolder } from '../../common/remote-media';

describe('remote media: which files a cell names', () => {
  it('media links (in order) then %voice, once each; out:N, URLs and %voice off are not files', () => {
    const cell = [
      '%voice media/ref.wav',
      '%task caption',
      'look ![image](media/a.png) and ![image](out:3) ![image](out:last)',
      '![speech]( media/a b.wav ) ![image](media/a.png) ![image](https://x.org/c.png)',
    ].join('\n');
    assert.deepEqual(localMediaTargets(cell), ['media/a.png', 'media/a b.wav', 'media/ref.wav']);
    assert.deepEqual(localMediaTargets('%voice off\nhello'), []);
    assert.deepEqual(localMediaTargets('![image]()'), []);
  });

  it('one server folder per notebook file: stable, and distinct for two notebooks of one name', () => {
    const a = remoteNotebookFolder('/home/u/p1/demo.ipynb');
    assert.match(a, /^anygpt-remote\/demo-[0-9a-f]{8}$/);
    assert.equal(remoteNotebookFolder('/home/u/p1/demo.ipynb'), a);
    assert.notEqual(remoteNotebookFolder('/home/u/p2/demo.ipynb'), a);
    assert.match(remoteNotebookFolder('/x/my notebook (1).ipynb'), /^anygpt-remote\/my_notebook_1_-[0-9a-f]{8}$/);
  });
});
