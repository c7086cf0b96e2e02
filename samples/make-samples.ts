/**
 * Makes the sample media (synthetic: no recordings, no copyrighted files) and the sample notebooks.
 * Needs espeak-ng (installed by tools/setup-system.sh).
 *   node --import tsx samples/make-samples.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeWav16 } from '../kernel/codecs/wav';
import { LANGUAGE_INFO } from '../kernel/jupyter/language-info';

const here = __dirname;
const media = join(here, 'media');
mkdirSync(media, { recursive: true });

// Sample media from AnyGPT-nano's world (see models/anygpt-nano/MODEL_CARD.md), so the default model can
// answer about them: a 32×32 scene on black, espeak-ng speech, a near-sine "flute" note. All synthetic.

// A big red circle on the left (palette red, radius 7 around (8, 16), as the world draws it).
const W = 32;
const rgb = new Uint8Array(W * W * 3);
for (let y = 0; y < W; y++)
  for (let x = 0; x < W; x++)
    if ((x + 0.5 - 8) ** 2 + (y + 0.5 - 16) ** 2 <= 49) rgb.set([230, 30, 30], (y * W + x) * 3);
void sharp(rgb, { raw: { width: W, height: W, channels: 3 } })
  .png()
  .toFile(join(media, 'shapes.png'));

// Speech: espeak-ng says "red circle" (the kernel resamples to the model's rate).
execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', join(media, 'voice.wav'), 'red circle']);
// A voice prompt: en-us+f2, the voice nano never heard in training (higher than its canonical en-us).
execFileSync('espeak-ng', [
  '-v',
  'en-us+f2',
  '-s',
  '150',
  '-w',
  join(media, 'other-voice.wav'),
  'hello yellow triangle',
]);

// Music: a flute (near-sine, a little 2nd harmonic) playing A4 for 1.5 s at 16 kHz.
const sr = 16000;
const music = new Float32Array(Math.round(1.5 * sr));
for (let i = 0; i < music.length; i++) {
  const t = i / sr;
  const env = Math.min(1, t * 30) * Math.min(1, (1.5 - t) * 10);
  music[i] = 0.3 * env * (Math.sin(2 * Math.PI * 440 * t) + 0.15 * Math.sin(2 * Math.PI * 880 * t));
}
writeFileSync(join(media, 'flute-a4.wav'), encodeWav16(music, sr));

// Notebooks.
type Cell = { kind: 'md' | 'code'; src: string };
const nb = (cells: Cell[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'anygpt', display_name: 'AnyGPT', language: 'anygpt' },
    language_info: LANGUAGE_INFO,
  },
  cells: cells.map((c, i) =>
    c.kind === 'md'
      ? { id: `md-${i}`, cell_type: 'markdown', metadata: {}, source: c.src }
      : { id: `code-${i}`, cell_type: 'code', metadata: {}, source: c.src, outputs: [], execution_count: null },
  ),
});
const md = (src: string): Cell => ({ kind: 'md', src });
const code = (src: string): Cell => ({ kind: 'code', src });

const samples: Record<string, Cell[]> = {
  t2i: [
    md(
      '# Text → image\n`%task t2i` uses the base-model template and asks for an image span, decoded to a PNG. AnyGPT-nano draws one or two shapes on black; try other colours, shapes, sizes and positions.',
    ),
    code('%task t2i\n%seed 7\na big red circle on the left'),
  ],
  caption: [
    md(
      '# Image → text\nAttach an image with a markdown image link; the path is relative to the notebook. `%task caption` describes the picture; a question about it is a chat message (`%task chat`, the default).',
    ),
    code('%task caption\n![image](media/shapes.png)'),
    code('%task chat\nWhat colour is it? ![image](media/shapes.png)'),
  ],
  asr: [
    md('# Speech → text\n`media/voice.wav` is espeak-ng saying "red circle".'),
    code('%task asr\n![speech](media/voice.wav)'),
  ],
  tts: [
    md(
      "# Text → speech\n`%voice` sets a voice prompt for the acoustic stage until `%voice off`. anygpt-nano carries the prompt's pitch over, not its timbre: `media/other-voice.wav` is espeak-ng's `en-us+f2`, a voice it never heard in training. Without `%voice` it speaks in its default voice.",
    ),
    code('%task tts\nhello seven'),
    code('%voice media/other-voice.wav\n%task tts\nhello seven'),
    code('%voice off'),
  ],
  t2m: [md('# Text → music'), code('%task t2m\na flute playing the note A4')],
  m2t: [md('# Music → text\n`media/flute-a4.wav` is a near-sine A4.'), code('%task m2t\n![music](media/flute-a4.wav)')],
  chat: [
    md(
      '# Multi-turn chat\nPlain text is a chat message. Each cell is one turn; re-running a cell replaces its own turn. `%history` shows the context.',
    ),
    code('%reset\nDraw a red circle.'),
    code('Now make it blue.'),
    code('What colour is it? ![image](media/shapes.png)'),
    code('%history'),
    code('%tokens\nWhat would the next prompt look like?'),
  ],
};
for (const [name, cells] of Object.entries(samples))
  writeFileSync(join(here, `${name}.ipynb`), JSON.stringify(nb(cells), null, 1) + '\n');
console.log(
  `wrote media/{shapes.png,voice.wav,other-voice.wav,flute-a4.wav} and ${Object.keys(samples).length} notebooks in ${here}`,
);
