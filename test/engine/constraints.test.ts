import assert from 'node:assert/strict';
import { ModalityConstraints, TEXT_STATE, type SpanState } from '../../kernel/engine/constraints';
import { loadPackage, type ModelPackage } from '../../kernel/engine/package';
import { DET } from './fixtures';

describe('engine/constraints: modality-aware masks', () => {
  let pkg: ModelPackage;
  let c: ModalityConstraints;
  before(async () => {
    pkg = await loadPackage(DET);
    c = new ModalityConstraints(pkg.vocab, pkg.manifest);
  });
  const allowed = (state: SpanState) => {
    const l = new Float32Array(pkg.vocab.size).fill(0);
    c.apply(l, state);
    return [...l].flatMap((x, i) => (x === -Infinity ? [] : [i]));
  };
  const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

  it('text: no media codes or end tags; start tags, text and specials allowed', () => {
    const a = new Set(allowed(TEXT_STATE));
    assert.ok(!a.has(139) && !a.has(156) && !a.has(160) && !a.has(184));
    assert.ok(a.has(155) && a.has(165) && a.has(183) && a.has(85) && a.has(2) && a.has(138));
  });
  it('image: exactly tokensPerImage codes, then only the end tag', () => {
    assert.deepEqual(allowed({ modality: 'image', count: 0 }), range(139, 16));
    assert.deepEqual(allowed({ modality: 'image', count: 3 }), range(139, 16));
    assert.deepEqual(allowed({ modality: 'image', count: 4 }), [156]);
  });
  it('speech: codes or the end tag', () => {
    assert.deepEqual(allowed({ modality: 'speech', count: 5 }), [...range(157, 8), 166]);
  });
  it('music: the q-th code of a frame from codebook q; end only at a frame boundary', () => {
    assert.deepEqual(allowed({ modality: 'music', count: 0 }), range(167, 4));
    assert.deepEqual(allowed({ modality: 'music', count: 1 }), range(171, 4));
    assert.deepEqual(allowed({ modality: 'music', count: 3 }), range(179, 4));
    assert.deepEqual(allowed({ modality: 'music', count: 4 }), [...range(167, 4), 184]);
  });
  it('tracks spans through start, codes and end', () => {
    let s = TEXT_STATE;
    for (const id of [85, 183, 168, 172]) s = c.next(s, id);
    assert.deepEqual(s, { modality: 'music', count: 2 });
    s = c.next(s, 184);
    assert.deepEqual(s, TEXT_STATE);
  });
});
