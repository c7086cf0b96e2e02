/**
 * A package's declared world (nano's manifest `world`): the kernel names words outside it and completes the
 * words inside it, for the cell's task; a package without a world (the fixture, like the real AnyGPT) stays silent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '../../kernel/engine/manifest-schema';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { unknownWordWarnings, worldCompletions } from '../../kernel/prompt';
import { haveNano, launchModel, NANO, ROOT } from './helpers';

const nanoManifest = () => validateManifest(JSON.parse(readFileSync(join(NANO, 'anygpt.json'), 'utf8')));

describe('the model world: unknown-word warnings and completion', function () {
  this.timeout(120000);

  it("nano's manifest declares its world for the text-input tasks", function () {
    if (!haveNano()) this.skip();
    const world = nanoManifest().world!;
    assert.deepEqual(Object.keys(world.tasks).sort(), ['chat', 't2i', 't2m', 'tts']);
    assert.deepEqual(world.tasks.t2i!.classes.positions, ['left', 'right', 'top', 'bottom', 'center']);
    assert.ok(world.tasks.t2m!.classes.notes.includes('C#4'), 'note names keep their case');
  });

  it('names the unknown word and the known words of the class it stands in', function () {
    if (!haveNano()) this.skip();
    const world = nanoManifest().world;
    const warn = (task: string, text: string) => unknownWordWarnings('anygpt-nano', world, task, text);
    assert.deepEqual(warn('t2i', 'a big blue triangle in the middle'), [
      "anygpt-nano does not know 'middle'; positions it knows: left, right, top, bottom, center",
    ]);
    assert.deepEqual(warn('t2i', 'a big blue triangle in the center'), []);
    assert.deepEqual(warn('t2i', 'A big blue hexagon on the left.'), [
      "anygpt-nano does not know 'hexagon'; shapes it knows: circle, square, triangle, cross",
    ]);
    assert.deepEqual(warn('t2i', 'a big blue triangel on the left'), [
      "anygpt-nano does not know 'triangel' (did you mean 'triangle'?)",
    ]);
    assert.deepEqual(warn('t2m', 'a flute playing the note e4'), [], 'case does not matter');
    assert.deepEqual(warn('tts', 'hello seven'), []);
    assert.match(warn('tts', 'hello banana')[0], /does not know 'banana'; words it knows: zero, one, two, three, …/);
    const many = warn('chat', 'paint me a pelican riding a bicycle over the moon');
    assert.equal(many.length, 4);
    assert.match(many[3], /does not know \d+ more word\(s\)/);
    assert.deepEqual(warn('caption', 'anything at all'), [], 'tasks with media input declare no world');
    assert.deepEqual(
      unknownWordWarnings('anygpt', undefined, 't2i', 'a cat in the middle'),
      [],
      'no world, no warning',
    );
  });

  it('completion offers the words the task knows, as training wrote them', function () {
    if (!haveNano()) this.skip();
    const world = nanoManifest().world;
    assert.deepEqual(worldCompletions(world, 't2i', 'ri'), ['right']);
    assert.deepEqual(worldCompletions(world, 't2m', 'c#'), ['C#4', 'C#5']);
    assert.deepEqual(worldCompletions(undefined, 't2i', 'ri'), []);
  });

  it('the schema rejects a malformed world, naming the field', () => {
    const m = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'engine', 'det', 'anygpt.json'), 'utf8'));
    m.world = { tasks: { t2i: { classes: { positions: ['left', 3] }, after: {} } } };
    assert.throws(() => validateManifest(m), /world\.tasks\.t2i\.classes\.positions\[1\]: expected a non-empty string/);
    m.world = { tasks: { caption: { classes: {}, after: {} } } };
    assert.throws(() => validateManifest(m), /world\.tasks\.caption: expected one of chat, t2i, tts, t2m/);
  });

  describe('through the kernel', () => {
    let k: KernelClient;
    before(async function () {
      if (!haveNano()) this.skip();
      k = await launchModel(NANO);
    });
    after(async () => {
      if (k) assert.equal(await k.shutdown(), 0);
    });

    const stderr = (outputs: { header: { msg_type: string }; content: unknown }[]) =>
      outputs
        .filter((o) => o.header.msg_type === 'stream')
        .map((o) => o.content as { name: string; text: string })
        .filter((c) => c.name === 'stderr')
        .map((c) => c.text)
        .join('');

    it('a t2i cell with a word nano does not know warns in the cell and records it', async () => {
      const r = await k.execute('%task t2i\n%seed 1\na big blue triangle in the middle');
      assert.equal(r.reply.content.status, 'ok');
      assert.match(stderr(r.outputs), /warning: anygpt-nano does not know 'middle'; positions it knows: left, right/);
      const known = await k.execute('%task t2i\n%seed 1\na big blue triangle in the center');
      assert.doesNotMatch(stderr(known.outputs), /does not know/);
    });

    it('complete_request offers the world words of the cell task', async () => {
      const code = '%task t2i\na big blue tri';
      const c = await k.request('shell', 'complete_request', { code, cursor_pos: code.length });
      assert.deepEqual(c.reply.content.matches, ['triangle']);
      assert.equal(c.reply.content.cursor_start, code.length - 3);
    });
  });
});
