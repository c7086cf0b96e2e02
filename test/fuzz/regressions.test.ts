/** What the fuzzers found, each kept as a plain test (the properties in fuzz.test.ts may not hit it again). */
import assert from 'node:assert/strict';
import { decode, newHeader, Signer, WireError } from '../../common/jupyter-wire';

describe('fuzz regressions', () => {
  it('Jupyter decoder: a signed message whose metadata or content is not a JSON object is a WireError', () => {
    const signer = new Signer('k');
    const header = Buffer.from(JSON.stringify(newHeader('execute_request', 's')));
    for (const [metadata, content, what] of [
      ['false', '{}', 'metadata'],
      ['{}', '[1,2]', 'content'],
      ['{}', '"code"', 'content'],
    ]) {
      const parts = [header, Buffer.from('{}'), Buffer.from(metadata), Buffer.from(content)];
      const frames = [Buffer.from('<IDS|MSG>'), Buffer.from(signer.sign(parts)), ...parts];
      assert.throws(
        () => decode(frames, signer),
        (e) => e instanceof WireError && e.message === `${what} is not a JSON object`,
      );
    }
    // null still reads as an empty object (clients send it for an empty parent_header).
    const parts = [header, Buffer.from('null'), Buffer.from('{}'), Buffer.from('{}')];
    const m = decode([Buffer.from('<IDS|MSG>'), Buffer.from(signer.sign(parts)), ...parts], signer);
    assert.deepEqual(m.parent_header, {});
  });
});
