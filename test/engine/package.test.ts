import assert from 'node:assert/strict';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkLlmGraph, loadPackage, PackageError } from '../../kernel/engine/package';
import { LlmSession } from '../../kernel/engine/llm';
import { cleanupCopies, copyPackage, DET, editJson, LLAMA } from './fixtures';

/** Loads a broken copy and returns the error message. */
async function errorOf(edit: (dir: string) => void, src = DET): Promise<string> {
  const dir = copyPackage(src);
  edit(dir);
  try {
    await loadPackage(dir);
  } catch (e) {
    assert.ok(e instanceof PackageError, `expected a PackageError, got ${(e as Error).stack}`);
    return (e as Error).message;
  }
  assert.fail('package loaded but should have failed');
}
const manifest = (dir: string, edit: (j: any) => void) => editJson(path.join(dir, 'anygpt.json'), edit);
const acousticWith = (defaultVoice: unknown) => ({
  graph: { path: 'stub.onnx' },
  numAcousticQuantizers: 1,
  maskId: 8,
  steps: 1,
  topkFraction: 0.7,
  defaultVoice,
});

describe('engine/package: loading and validation', () => {
  after(cleanupCopies);

  it('loads the fixtures and derives the vocabulary from the added tokens', async () => {
    const p = await loadPackage(DET);
    assert.equal(p.manifest.name, 'fixture-det');
    assert.match(p.hash, /^[0-9a-f]{64}$/);
    const v = p.vocab;
    assert.equal(v.bosId, 1);
    assert.equal(v.eosId, 2);
    assert.deepEqual(Object.fromEntries(v.special), { '[Human]': 135, '[MMGPT]': 136, '<eoh>': 137, '<eos>': 138 });
    assert.deepEqual([...v.stopIds], [138]);
    const img = v.blocks.image!;
    assert.deepEqual([img.base, img.size, img.startId, img.endId], [139, 16, 155, 156]);
    assert.deepEqual([v.blocks.speech!.base, v.blocks.speech!.startId, v.blocks.speech!.endId], [157, 165, 166]);
    const mu = v.blocks.music!;
    assert.deepEqual(
      [mu.base, mu.size, mu.codebookSize, mu.numCodebooks, mu.startId, mu.endId],
      [167, 16, 4, 4, 183, 184],
    );
    assert.deepEqual(v.classify(139 + 7), { kind: 'code', modality: 'image', code: 7 });
    assert.deepEqual(v.classify(167 + 9), { kind: 'code', modality: 'music', code: 9, codebook: 2 });
    assert.deepEqual(v.classify(166), { kind: 'end', modality: 'speech' });
    assert.deepEqual(v.classify(183), { kind: 'start', modality: 'music' });
    assert.deepEqual(v.classify(137), { kind: 'special' });
    assert.deepEqual(v.classify(85), { kind: 'text' });
    assert.equal(v.modalityOf(160), 'speech');
  });

  it('identity hash is stable and changes with any named file', async () => {
    const a = await loadPackage(DET);
    const b = await loadPackage(copyPackage(DET));
    assert.equal(a.hash, b.hash);
    const dir = copyPackage(DET);
    appendFileSync(path.join(dir, 'stub.onnx'), Buffer.from([0]));
    assert.notEqual((await loadPackage(dir)).hash, a.hash);
    const dir2 = copyPackage(DET);
    manifest(dir2, (j) => (j.description = 'changed'));
    assert.notEqual((await loadPackage(dir2)).hash, a.hash);
  });

  const cases: [string, (dir: string) => void, RegExp | string][] = [
    [
      'numLayers not an integer',
      (d) => manifest(d, (j) => (j.llm.numLayers = 'x')),
      'anygpt.json: llm.numLayers: expected a positive integer, got "x"',
    ],
    [
      'numLayers zero',
      (d) => manifest(d, (j) => (j.llm.numLayers = 0)),
      'anygpt.json: llm.numLayers: expected a positive integer, got 0',
    ],
    [
      'missing field',
      (d) => manifest(d, (j) => delete j.llm.headDim),
      'anygpt.json: llm.headDim: expected a positive integer, got nothing (field missing)',
    ],
    [
      'wrong format',
      (d) => manifest(d, (j) => (j.format = 'other')),
      'anygpt.json: format: expected "anygpt-package", got "other"',
    ],
    ['future version', (d) => manifest(d, (j) => (j.version = 2)), /anygpt.json: version: expected 1 .*got 2/],
    [
      'bad kvDtype',
      (d) => manifest(d, (j) => (j.llm.kvDtype = 'bfloat16')),
      'anygpt.json: llm.kvDtype: expected one of "float32", "float16", got "bfloat16"',
    ],
    [
      'bad topP',
      (d) => manifest(d, (j) => (j.presets.music.topP = 1.5)),
      'anygpt.json: presets.music.topP: expected a number in (0, 1], got 1.5',
    ],
    [
      'missing preset',
      (d) => manifest(d, (j) => delete j.presets.speech),
      'anygpt.json: presets.speech: expected an object, got nothing (field missing)',
    ],
    [
      'path escapes the package',
      (d) => manifest(d, (j) => (j.llm.graph.path = '../llm.onnx')),
      /anygpt.json: llm.graph.path: expected a relative path inside the package/,
    ],
    [
      'bad sha256 syntax',
      (d) => manifest(d, (j) => (j.llm.graph.sha256 = 'abc')),
      'anygpt.json: llm.graph.sha256: expected 64 lowercase hex digits, got "abc"',
    ],
    [
      'template without {message}',
      (d) => manifest(d, (j) => (j.templates.base = '[Human]: <eoh>')),
      /templates.base: expected a template containing "\{message\}"/,
    ],
    [
      'unknown modality',
      (d) => manifest(d, (j) => (j.modalities.audio = {})),
      /modalities.audio: expected only "image", "speech" or "music"/,
    ],
    [
      'music size mismatch',
      (d) => manifest(d, (j) => (j.modalities.music.tokens.size = 12)),
      /modalities.music.tokens.size: expected numCodebooks × codebookSize = 16, got 12/,
    ],
    [
      'trimSilence threshold above 1',
      (d) => manifest(d, (j) => (j.modalities.speech.trimSilence = { threshold: 5, padSeconds: 0.04 })),
      'anygpt.json: modalities.speech.trimSilence.threshold: expected a number in [0, 1], got 5',
    ],
    [
      'default voice without a name',
      (d) => manifest(d, (j) => (j.modalities.speech.acoustic = acousticWith({ file: { path: 'voice.wav' } }))),
      'anygpt.json: modalities.speech.acoustic.defaultVoice.name: expected a non-empty string, got nothing (field missing)',
    ],
    [
      'default voice file missing',
      (d) =>
        manifest(d, (j) => (j.modalities.speech.acoustic = acousticWith({ file: { path: 'voice.wav' }, name: 'v' }))),
      /voice.wav: file named by anygpt.json modalities.speech.acoustic.defaultVoice.file.path does not exist/,
    ],
    [
      'default voice hash mismatch',
      (d) => {
        writeFileSync(path.join(d, 'voice.wav'), 'RIFF');
        manifest(
          d,
          (j) =>
            (j.modalities.speech.acoustic = acousticWith({
              file: { path: 'voice.wav', sha256: '0'.repeat(64) },
              name: 'v',
            })),
        );
      },
      /^voice.wav: sha256 mismatch: anygpt.json modalities.speech.acoustic.defaultVoice.file.sha256 expects 0{64}/,
    ],
    ['missing manifest', (d) => rmSync(path.join(d, 'anygpt.json')), /anygpt.json: not found in /],
    ['manifest not JSON', (d) => writeFileSync(path.join(d, 'anygpt.json'), '{ nope'), /anygpt.json: not valid JSON/],
    [
      'missing file',
      (d) => rmSync(path.join(d, 'stub.onnx')),
      /stub.onnx: file named by anygpt.json modalities.image.encoder.path does not exist/,
    ],
    ['tokenizer not JSON', (d) => writeFileSync(path.join(d, 'tokenizer.json'), 'x'), /tokenizer.json: not valid JSON/],
    [
      'wrong prefix (no U+FE0F)',
      (d) => manifest(d, (j) => (j.modalities.speech.tokens.prefix = '\u{1F5E3}')),
      /tokenizer.json: modalities.speech.tokens: the first speech token "<🗣0>" is not an added token/,
    ],
    [
      'block larger than the tokenizer has',
      (d) => manifest(d, (j) => (j.modalities.image.tokens.size = 17)),
      /modalities.image.tokens: block not contiguous: expected "<👀16>" at id 155 .*not an added token/,
    ],
    [
      'start tag missing',
      (d) => manifest(d, (j) => (j.modalities.image.tokens.start = '<sox>')),
      /tokenizer.json: modalities.image.tokens.start: token "<sox>" is not in the tokenizer's vocabulary/,
    ],
    [
      'stop token not a single token',
      (d) => manifest(d, (j) => (j.templates.stopTokens = ['<eom>'])),
      /templates.stopTokens\[0\]: token "<eom>" is not in the tokenizer's vocabulary/,
    ],
    ['vocabSize too small', (d) => manifest(d, (j) => (j.llm.vocabSize = 100)), /llm.vocabSize: expected at least 185/],
    [
      'non-contiguous block',
      (d) =>
        editJson(path.join(d, 'tokenizer.json'), (t) => {
          const a = t.added_tokens.find((x: any) => x.content === '<👀3>');
          const b = t.added_tokens.find((x: any) => x.content === '<👀4>');
          [a.id, b.id] = [b.id, a.id];
        }),
      'tokenizer.json: modalities.image.tokens: block not contiguous: expected "<👀3>" at id 142 (base 139 + 3), found it at id 143',
    ],
  ];
  for (const [name, edit, want] of cases) {
    it(`rejects: ${name}`, async () => {
      const msg = await errorOf(edit);
      if (typeof want === 'string') assert.equal(msg, want);
      else assert.match(msg, want);
    });
  }

  it('rejects a sha256 mismatch and accepts the right hash', async () => {
    const msg = await errorOf((d) => manifest(d, (j) => (j.llm.graph.sha256 = '0'.repeat(64))));
    assert.match(
      msg,
      /^llm.onnx: sha256 mismatch: anygpt.json llm.graph.sha256 expects 0{64}, the file has [0-9a-f]{64}$/,
    );
    await loadPackage(LLAMA); // its manifest carries the real sha256
  });

  it('checks the LLM graph against the manifest (names, types, dims)', async () => {
    const p = await loadPackage(DET);
    const spec = p.manifest.llm;
    await assert.rejects(
      LlmSession.open(p.resolve('llm.onnx'), { ...spec, numLayers: 2 }, { executionProvider: 'cpu' }),
      {
        message: /^llm.onnx: missing input "past_key_values.1.key"/,
      },
    );
    await assert.rejects(
      LlmSession.open(p.resolve('llm.onnx'), { ...spec, headDim: 8 }, { executionProvider: 'cpu' }),
      {
        message: /^llm.onnx: input "past_key_values.0.key": dim 3 expected 8, got 4/,
      },
    );
    await assert.rejects(
      LlmSession.open(p.resolve('llm.onnx'), { ...spec, vocabSize: 200 }, { executionProvider: 'cpu' }),
      {
        message: /^llm.onnx: output "logits": dim 2 expected 200, got 185/,
      },
    );
    await assert.rejects(
      LlmSession.open(p.resolve('llm.onnx'), { ...spec, kvDtype: 'float16' }, { executionProvider: 'cpu' }),
      {
        message: /^llm.onnx: input "past_key_values.0.key": expected type float16, got float32/,
      },
    );
    const meta = { inputs: [{ name: 'input_ids', type: 'int64', shape: [1, 's'] }], outputs: [] };
    assert.throws(() => checkLlmGraph(spec, meta), { message: /^llm.onnx: missing input "attention_mask"/ });
  });

  it('reports graph variants: position_ids and last-token logits', async () => {
    const det = await loadPackage(DET);
    const llama = await loadPackage(LLAMA);
    const a = await LlmSession.open(det.resolve('llm.onnx'), det.manifest.llm, { executionProvider: 'cpu' });
    const b = await LlmSession.open(llama.resolve('llm.onnx'), llama.manifest.llm, { executionProvider: 'cpu' });
    assert.deepEqual(a.info, { hasPositionIds: false, lastTokenLogitsOnly: false }); // [1,"dim",V]: decided per run
    assert.deepEqual(b.info, { hasPositionIds: true, lastTokenLogitsOnly: false });
    assert.equal(a.executionProvider, 'cpu');
    await a.release();
    await b.release();
  });
});
