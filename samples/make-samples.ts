/**
 * Makes the sample media (synthetic: no recordings, no copyrighted files) and the sample notebooks.
 *   node --import tsx samples/make-samples.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeWav16 } from '../kernel/codecs/wav';

const here = __dirname;
const media = join(here, 'media');
mkdirSync(media, { recursive: true });

// A red square on a white background with a blue circle: something to caption.
const W = 128;
const rgb = new Uint8Array(W * W * 3).fill(255);
for (let y = 0; y < W; y++)
  for (let x = 0; x < W; x++) {
    const i = (y * W + x) * 3;
    if (x > 16 && x < 64 && y > 16 && y < 64) rgb.set([220, 30, 30], i);
    if ((x - 88) ** 2 + (y - 88) ** 2 < 24 ** 2) rgb.set([30, 60, 220], i);
  }
void sharp(rgb, { raw: { width: W, height: W, channels: 3 } })
  .png()
  .toFile(join(media, 'shapes.png'));

// "Speech": 1.6 s of a vowel-like voiced signal at 16 kHz (pitch glide plus two formants).
const sr = 16000;
const speech = new Float32Array(Math.round(1.6 * sr));
for (let i = 0, ph = 0; i < speech.length; i++) {
  const t = i / sr;
  ph += (2 * Math.PI * (140 + 30 * Math.sin(2 * Math.PI * 1.5 * t))) / sr;
  const env = Math.min(1, t * 20) * Math.min(1, (1.6 - t) * 20) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t));
  speech[i] = 0.25 * env * (Math.sin(ph) + 0.5 * Math.sin(ph * 5.3) + 0.3 * Math.sin(ph * 16.1));
}
writeFileSync(join(media, 'voice.wav'), encodeWav16(speech, sr));

// "Music": 3 s of a C–F–G arpeggio at 32 kHz.
const mr = 32000;
const music = new Float32Array(3 * mr);
const notes = [261.63, 329.63, 392.0, 349.23, 440.0, 523.25, 392.0, 493.88, 587.33];
for (let i = 0; i < music.length; i++) {
  const t = i / mr;
  const k = Math.floor(t / (3 / notes.length));
  const local = t - k * (3 / notes.length);
  music[i] = 0.3 * Math.exp(-3 * local) * Math.sin(2 * Math.PI * notes[k] * t);
}
writeFileSync(join(media, 'arpeggio.wav'), encodeWav16(music, mr));

// Notebooks.
type Cell = { kind: 'md' | 'code'; src: string };
const nb = (cells: Cell[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'anygpt', display_name: 'AnyGPT', language: 'anygpt' },
    language_info: { name: 'anygpt', mimetype: 'text/x-anygpt', file_extension: '.anygpt' },
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
  t2i: [md('# Text → image\n`%task t2i` uses the base-model template; the image span is decoded to a PNG.'), code('%task t2i\n%seed 7\nA red square next to a blue circle.')],
  caption: [md('# Image → text\nAttach an image with a markdown image link; the path is relative to the notebook.'), code('%task caption\n![image](media/shapes.png)'), code('%task caption\nWhat colours do you see? ![image](media/shapes.png)')],
  asr: [md('# Speech → text'), code('%task asr\n![speech](media/voice.wav)')],
  tts: [md('# Text → speech\n`%voice` sets a voice prompt for the acoustic stage. A package without one (such as anygpt-nano) ignores it and says so in a warning.'), code('%task tts\nHello from a notebook.'), code('%voice media/voice.wav\n%task tts\nThe same words in another voice.')],
  t2m: [md('# Text → music'), code('%task t2m\n%max_new_tokens 400\nA calm piano melody.')],
  m2t: [md('# Music → text'), code('%task m2t\n![music](media/arpeggio.wav)')],
  chat: [
    md('# Multi-turn chat\nPlain text is a chat message. Each cell is one turn; re-running a cell replaces its own turn. `%history` shows the context.'),
    code('%reset\nHi! Who are you?'),
    code('Describe this picture. ![image](media/shapes.png)'),
    code('%max_new_tokens 40\nNow say it out loud.'),
    code('%history'),
    code('%tokens\nWhat would the next prompt look like?'),
  ],
};
for (const [name, cells] of Object.entries(samples)) writeFileSync(join(here, `${name}.ipynb`), JSON.stringify(nb(cells), null, 1) + '\n');
console.log(`wrote media/{shapes.png,voice.wav,arpeggio.wav} and ${Object.keys(samples).length} notebooks in ${here}`);
