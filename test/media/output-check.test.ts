/** The renderers' payload checks (common/output-check.ts), in Node; the renderers' use of them is in malformed.test.ts. */
import assert from 'node:assert/strict';
import { checkAudioOutput, checkGeneration, OutputFormatError } from '../../common/output-check';
import { makeAudio, makeGeneration } from './fixtures';

const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('renderer payload checks', () => {
  it('accepts what the kernel writes, and drops optional numbers saved as null', () => {
    const g = copy(makeGeneration({ speechFrames: 8 })) as unknown as { tokens: Record<string, unknown>[] };
    g.tokens[1].logprob = null; // JSON's form of -Infinity
    const checked = checkGeneration(g);
    assert.equal(checked.tokens.length, g.tokens.length);
    assert.equal('logprob' in checked.tokens[1], false);
    const a = checkAudioOutput(copy(makeAudio(makeGeneration({ speechFrames: 8 }), 'speech')));
    assert.equal(a.modality, 'speech');
  });

  it('names the first wrong field', () => {
    const bad = (f: () => unknown, message: string) =>
      assert.throws(f, (e) => e instanceof OutputFormatError && e.message === message);
    const g = copy(makeGeneration({ speechFrames: 8 })) as unknown as Record<string, unknown>;
    bad(() => checkGeneration({ ...g, spans: undefined }), 'spans: expected an array, got undefined');
    bad(() => checkGeneration(null), 'record: expected an object, got null');
    const a = copy(makeAudio(makeGeneration({ speechFrames: 8 }), 'speech')) as unknown as Record<string, unknown>;
    bad(
      () => checkAudioOutput({ ...a, modality: 'image' }),
      'modality: expected one of "speech", "music", got "image"',
    );
    bad(() => checkAudioOutput({ ...a, wav: 'abc' }), 'wav: expected a base64 WAV file, got "abc"');
    bad(() => checkAudioOutput({ ...a, sampleRate: -1 }), 'sampleRate: expected a positive number, got -1');
  });
});
