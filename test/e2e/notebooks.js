// Writes the E2E workspace: the samples (with their media), the long-generating LLaMA fixture package
// (test/fixtures/long-fixture.ts) under long-llama/, and three notebooks built from sample cells:
//   e2e.ipynb        the UI run: t2i + tts (model outputs with their token inspectors), %decode image and
//                    %decode speech (real codec decodes whose outputs do not depend on the model's quality), a chat turn;
//   interrupt.ipynb  a long generation on the fixture (%model long-llama), then %model back to MODEL_DIR, then a quick cell;
//   roundtrip.ipynb  decode + model media cells for save / reopen.
// Run with `node --import tsx` (it imports the TypeScript fixture helper). Args: SAMPLES WS MODEL_DIR.
'use strict';
const { cpSync, readFileSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { makeLongFixture } = require('../fixtures/long-fixture');

const [samples, ws, modelDir] = process.argv.slice(2);
if (!samples || !ws || !modelDir) throw new Error('usage: notebooks.js SAMPLES WS MODEL_DIR');
cpSync(samples, ws, { recursive: true, filter: (p) => !p.endsWith('.ts') });
const longDir = makeLongFixture(join(ws, 'long-llama'));
const meta = JSON.parse(readFileSync(join(samples, 't2i.ipynb'), 'utf8')).metadata;
let ids = 0;
const id = () => `e2e${(ids++).toString(36).padStart(5, '0')}`;
const code = (src) => ({ cell_type: 'code', execution_count: null, id: id(), metadata: {}, outputs: [], source: src });
const md = (src) => ({ cell_type: 'markdown', id: id(), metadata: {}, source: src });
const nb = (cells) => JSON.stringify({ cells, metadata: meta, nbformat: 4, nbformat_minor: 5 }, null, 1) + '\n';

// Fixed codes: an image is exactly tokensPerImage codes (64 for nano), speech any number (25 per second on nano).
const manifest = JSON.parse(readFileSync(join(modelDir, 'anygpt.json'), 'utf8'));
const image = manifest.modalities.image;
const speech = manifest.modalities.speech;
const imageCodes = Array.from({ length: image.tokensPerImage }, (_, i) => (i * 37 + 11) % image.tokens.size).join(' ');
const speechCodes = Array.from(
  { length: Math.round(2 * speech.frameRate) },
  (_, i) => (i * 13 + 5) % speech.tokens.size,
).join(' ');
// Prompts from the samples (what AnyGPT-nano was trained on); the tests accept a text reply instead of media.
const T2I = '%task t2i\n%seed 7\na big red circle on the left';
const TTS = '%task tts\n%seed 3\nhello seven';
const DECODE_IMAGE = `%decode image ${imageCodes}`;
const DECODE_SPEECH = `%decode speech ${speechCodes}`;

writeFileSync(
  join(ws, 'e2e.ipynb'),
  nb([
    md(
      '# AnyGPT in VS Code\nText to image and text to speech with their token inspectors, then raw tokens decoded by the codecs.',
    ),
    code(T2I),
    code(TTS),
    code(DECODE_IMAGE),
    code(DECODE_SPEECH),
    code('%seed 1\nHi! Who are you?'),
  ]),
);
writeFileSync(
  join(ws, 'interrupt.ipynb'),
  nb([
    code(`%model ${longDir}\n%max_new_tokens 16000\n%temperature 0.5\nKeep talking for a long time.`),
    code(`%model ${resolve(modelDir)}\n%seed 2\n%max_new_tokens 8\nStill there?`),
    code('%tokens\nstill here after a restart'),
  ]),
);
// The token inspector by keyboard, axe and themes (test/e2e/inspector.js): a prompt-only record with an image span and
// speech, decoded speech for the audio player, a missing file with a long path (a long one-line error), and a cell after
// them whose editor a leaking Tab would enter.
const longMissing = 'media/' + 'a-folder-with-a-rather-long-name/'.repeat(5) + 'missing-picture.png';
writeFileSync(
  join(ws, 'inspector.ipynb'),
  nb([
    code('%tokens\nDescribe ![image](media/shapes.png) and say hello'),
    code('%tokens\nthe cell after the inspector'),
    code(DECODE_SPEECH),
    code(`%tokens\nDescribe ![image](${longMissing})`),
  ]),
);
writeFileSync(join(ws, 'roundtrip.ipynb'), nb([code(DECODE_IMAGE), code(DECODE_SPEECH), code(T2I), code(TTS)]));
// start-up failure checks (suite.js runs it with a broken anygpt.nodePath)
writeFileSync(join(ws, 'startup.ipynb'), nb([code('%tokens\nhello')]));
// magic diagnostics (suite.js types a misspelt magic into it)
writeFileSync(join(ws, 'magics.ipynb'), nb([code('%seed 1\nhello')]));
