/**
 * The audio output: waveform, token timeline (speech: one cell per 50 Hz frame; music: codebook ×
 * frame heatmap) and spectrogram on canvas, with one playhead across all of them, play/pause/seek,
 * and download. Never autoplays.
 */
import type { AudioOutput } from '../../common/output-payloads';
import { cssColor, el } from '../shared/dom';
import { codeHue, resolveColour, viridis } from '../shared/palette';
import { emit, listen, PLAYHEAD_EVENT, SPAN_EVENT, type PlayheadLink, type SpanLink } from '../shared/link';
import { envelope, formatTime, spectrogram, type Spectrogram } from './dsp';
import { base64ToBytes, decodeWav, type DecodedWav } from './wav';

const WAVE_H = 64;
const SPEC_H = 84;

export interface PlayerOptions {
  scope: string;
  signal: AbortSignal;
  /** Saves through the extension when renderer messaging is available; otherwise a download link is used. */
  save?: (fileName: string, base64: string) => void;
}

export class AudioPlayer {
  private readonly bytes: Uint8Array;
  private wav!: DecodedWav;
  private readonly audio = new Audio();
  private readonly url: string;
  private readonly stack = el('div', { class: 'stack' });
  private readonly wave = el('canvas', { class: 'wave', attrs: { 'aria-label': 'Waveform' } });
  private readonly timeline = el('canvas', { class: 'timeline' });
  private readonly spec = el('canvas', { class: 'spec', attrs: { 'aria-label': 'Spectrogram' } });
  private readonly playhead = el('div', { class: 'playhead' });
  private readonly marks = el('div', { class: 'marks' });
  private readonly playBtn = el('button', {
    class: 'btn primary play',
    text: '\u25b6 Play',
    attrs: { 'aria-label': 'Play' },
  });
  private readonly clock = el('span', { class: 'clock' });
  private readonly hover = el('span', { class: 'muted hover' });
  private spectro?: Spectrogram;
  private raf = 0;
  private lastToken = -2;

  constructor(
    private readonly root: ShadowRoot,
    private readonly out: AudioOutput,
    private readonly opts: PlayerOptions,
  ) {
    this.bytes = base64ToBytes(out.wav);
    this.url = URL.createObjectURL(new Blob([this.bytes as BlobPart], { type: 'audio/wav' }));
    opts.signal.addEventListener('abort', () => {
      this.audio.pause();
      cancelAnimationFrame(this.raf);
      URL.revokeObjectURL(this.url);
    });
  }

  /** Very long audio gets a notice first, so a notebook with a 20-minute track stays responsive. */
  mount(limitSec = 600): void {
    const wrap = el('div', { class: `aud m-${this.out.modality}` });
    this.root.appendChild(wrap);
    if (this.out.durationSec > limitSec) {
      const go = el('button', { class: 'btn primary', text: 'Render anyway' });
      const notice = el(
        'div',
        { class: 'notice' },
        el('span', {
          text: `Long ${this.out.modality}: ${formatTime(this.out.durationSec)} (${(this.bytes.length / 1048576).toFixed(1)} MB WAV). Drawing the waveform and spectrogram may take a moment.`,
        }),
        go,
        this.downloadButton(),
      );
      wrap.appendChild(notice);
      go.addEventListener(
        'click',
        () => {
          notice.remove();
          this.build(wrap);
        },
        { signal: this.opts.signal },
      );
      return;
    }
    this.build(wrap);
  }

  private build(wrap: HTMLElement): void {
    const o = this.out;
    try {
      this.wav = decodeWav(this.bytes);
    } catch (e) {
      wrap.appendChild(el('div', { class: 'error', text: `Cannot read this WAV: ${(e as Error).message}` }));
      return;
    }
    const frames = this.frameCount();
    const facts = [
      formatTime(o.durationSec),
      `${(o.sampleRate / 1000).toFixed(o.sampleRate % 1000 ? 1 : 0)} kHz`,
      frames
        ? `${frames} frames @ ${o.frameRate} Hz${o.modality === 'music' ? ` \u00d7 ${(o.codes as number[][]).length} codebooks` : ''}`
        : '',
      o.spans.length ? `${o.spans.length} span${o.spans.length === 1 ? '' : 's'}` : '',
    ].filter(Boolean);
    wrap.append(
      el(
        'div',
        { class: 'head' },
        el('span', { class: 'tag', text: o.modality }),
        ...facts.map((f) => el('span', { class: 'fact', text: f })),
        el('span', { class: 'spacer' }),
        this.downloadButton(),
      ),
      el('div', { class: 'controls' }, this.playBtn, this.clock, this.hover),
    );
    const hasTimeline = frames > 0;
    const labels = el(
      'div',
      { class: 'labels' },
      el('span', { text: 'waveform', style: { height: `${WAVE_H}px` } }),
      hasTimeline
        ? el('span', {
            text: o.modality === 'music' ? 'codebook \u00d7 frame' : `tokens ${o.frameRate} Hz`,
            style: { height: `${this.timelineHeight()}px` },
          })
        : null,
      el('span', {
        text: 'spectrogram',
        title: `log frequency, 40 Hz \u2013 ${(o.sampleRate / 2000).toFixed(0)} kHz, 60 dB range`,
        style: { height: `${SPEC_H}px` },
      }),
    );
    this.stack.append(this.wave);
    if (hasTimeline) this.stack.append(this.timeline);
    this.stack.append(this.spec, this.marks, this.playhead);
    wrap.appendChild(el('div', { class: 'grid' }, labels, this.stack));
    this.audio.preload = 'metadata';
    this.audio.src = this.url;
    this.wire();
    const ro = new ResizeObserver(() => this.draw());
    ro.observe(this.stack);
    this.opts.signal.addEventListener('abort', () => ro.disconnect());
    this.updateClock();
  }

  private downloadButton(): HTMLElement {
    const name = this.out.fileName ?? `${this.out.modality}.wav`;
    if (this.opts.save) {
      const b = el('button', { class: 'btn', text: 'Download WAV', title: `Save ${name}` });
      b.addEventListener('click', () => this.opts.save!(name, this.out.wav), { signal: this.opts.signal });
      return b;
    }
    return el('a', { class: 'btn', text: 'Download WAV', attrs: { href: this.url, download: name } });
  }

  private frameCount(): number {
    const c = this.out.codes;
    if (!c || !c.length) return 0;
    return Array.isArray(c[0]) ? (c[0] as number[]).length : c.length;
  }

  private timelineHeight(): number {
    return this.out.modality === 'music' ? 10 * Math.max(1, (this.out.codes as number[][]).length) : 16;
  }

  // --- interaction

  private wire(): void {
    const { signal } = this.opts;
    this.playBtn.addEventListener(
      'click',
      () => (this.audio.paused ? this.audio.play().catch(() => undefined) : this.audio.pause()),
      { signal },
    );
    this.audio.addEventListener(
      'play',
      () => {
        this.setButton(true);
        this.tick();
      },
      { signal },
    );
    this.audio.addEventListener(
      'pause',
      () => {
        this.setButton(false);
        this.updateClock();
      },
      { signal },
    );
    this.audio.addEventListener(
      'ended',
      () => {
        this.setButton(false);
        this.publish(-1);
      },
      { signal },
    );
    this.audio.addEventListener('timeupdate', () => this.updateClock(), { signal });
    let dragging = false;
    const seek = (e: PointerEvent) => {
      const r = this.stack.getBoundingClientRect();
      const t = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * this.out.durationSec;
      this.audio.currentTime = t;
      this.updateClock(t);
    };
    this.stack.addEventListener(
      'pointerdown',
      (e) => {
        dragging = true;
        this.stack.setPointerCapture(e.pointerId);
        seek(e);
      },
      { signal },
    );
    this.stack.addEventListener(
      'pointermove',
      (e) => {
        if (dragging) seek(e);
        this.describe(e);
      },
      { signal },
    );
    this.stack.addEventListener('pointerup', () => (dragging = false), { signal });
    this.stack.addEventListener('pointerleave', () => (this.hover.textContent = ''), { signal });
    listen<SpanLink>(
      SPAN_EVENT,
      (d) => {
        if (d.scope !== this.opts.scope) return;
        const s = this.out.spans.find((x) => x.span === d.span);
        if (!s) return;
        this.audio.currentTime = s.startSec;
        this.updateClock(s.startSec);
        this.root.host.classList.add('flash');
        (this.root.host as HTMLElement).scrollIntoView?.({ block: 'nearest' });
        setTimeout(() => this.root.host.classList.remove('flash'), 900);
      },
      signal,
    );
  }

  private setButton(playing: boolean): void {
    this.playBtn.textContent = playing ? '\u275a\u275a Pause' : '\u25b6 Play';
    this.playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Play');
  }

  private tick(): void {
    this.updateClock();
    if (!this.audio.paused) this.raf = requestAnimationFrame(() => this.tick());
  }

  private updateClock(t = this.audio.currentTime || 0): void {
    const d = this.out.durationSec || 1;
    this.clock.textContent = `${formatTime(t)} / ${formatTime(this.out.durationSec)}`;
    this.playhead.style.left = `${(Math.min(t, d) / d) * 100}%`;
    if (!this.audio.paused) this.publish(this.tokenAt(t).token);
  }

  /** Which token of the Generation sounds at time t (spans map time linearly onto their tokens). */
  tokenAt(t: number): { token: number; span: number; frame: number } {
    const s = this.out.spans.find((x) => t >= x.startSec && t < x.endSec);
    const frame = Math.floor(t * this.out.frameRate);
    if (!s) return { token: -1, span: -1, frame };
    const f = (t - s.startSec) / Math.max(1e-9, s.endSec - s.startSec);
    return {
      token: s.tokenStart + Math.min(s.tokenEnd - s.tokenStart - 1, Math.floor(f * (s.tokenEnd - s.tokenStart))),
      span: s.span,
      frame,
    };
  }

  private publish(token: number): void {
    if (token === this.lastToken) return;
    this.lastToken = token;
    emit<PlayheadLink>(PLAYHEAD_EVENT, {
      scope: this.opts.scope,
      token,
      span: token < 0 ? -1 : this.tokenAt(this.audio.currentTime).span,
    });
  }

  private describe(e: PointerEvent): void {
    const r = this.stack.getBoundingClientRect();
    const t = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * this.out.durationSec;
    const frame = Math.floor(t * this.out.frameRate);
    const c = this.out.codes;
    let code = '';
    if (c && frame < this.frameCount())
      code = Array.isArray(c[0])
        ? ` \u00b7 codes ${(c as number[][]).map((l) => l[frame]).join(', ')}`
        : ` \u00b7 code ${(c as number[])[frame]}`;
    this.hover.textContent = `${t.toFixed(2)} s \u00b7 frame ${frame}${code}`;
  }

  // --- drawing

  private draw(): void {
    const width = Math.floor(this.stack.clientWidth);
    if (width <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    const accent = resolveColour(this.root, `var(--m-${this.out.modality})`);
    const muted = cssColor(this.root.host, '--vscode-descriptionForeground', '#888');
    this.drawWave(width, dpr, accent, muted);
    if (this.frameCount()) this.drawTimeline(width, dpr);
    this.drawSpec(width, dpr);
    this.drawMarks();
  }

  private ctx(c: HTMLCanvasElement, w: number, h: number, dpr: number): CanvasRenderingContext2D | null {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.height = `${h}px`;
    const g = c.getContext('2d');
    g?.setTransform(dpr, 0, 0, dpr, 0, 0);
    return g;
  }

  private drawWave(w: number, dpr: number, accent: string, muted: string): void {
    const g = this.ctx(this.wave, w, WAVE_H, dpr);
    if (!g) return;
    const env = envelope(this.wav.samples, w);
    let peak = 1e-6;
    for (const v of env) peak = Math.max(peak, Math.abs(v));
    const mid = WAVE_H / 2,
      scale = (WAVE_H / 2 - 3) / Math.max(peak, 0.05);
    g.fillStyle = muted;
    g.globalAlpha = 0.35;
    g.fillRect(0, mid, w, 1);
    g.globalAlpha = 1;
    g.fillStyle = accent;
    for (let x = 0; x < w; x++) {
      const lo = env[2 * x] * scale,
        hi = env[2 * x + 1] * scale;
      g.fillRect(x, mid - hi, 1, Math.max(1, hi - lo));
    }
  }

  private drawTimeline(w: number, dpr: number): void {
    const h = this.timelineHeight();
    const g = this.ctx(this.timeline, w, h, dpr);
    if (!g) return;
    const c = this.out.codes!;
    const lanes: number[][] = Array.isArray(c[0]) ? (c as number[][]) : [c as number[]];
    const frames = lanes[0].length;
    const fw = w / Math.max(1, this.out.durationSec * this.out.frameRate || frames);
    const laneH = h / lanes.length;
    const size = this.out.codebookSize ?? 1024;
    lanes.forEach((lane, q) => {
      for (let f = 0; f < lane.length; f++) {
        if (this.out.modality === 'music') {
          const [r, gg, b] = viridis(lane[f] / size);
          g.fillStyle = `rgb(${r | 0},${gg | 0},${b | 0})`;
        } else {
          g.fillStyle = `hsl(${codeHue(lane[f])} 55% 55%)`;
        }
        g.fillRect(f * fw, q * laneH, Math.max(1, fw - (fw > 4 ? 1 : 0)), laneH - (lanes.length > 1 ? 1 : 0));
      }
    });
  }

  private drawSpec(w: number, dpr: number): void {
    const g = this.ctx(this.spec, w, SPEC_H, dpr);
    if (!g) return;
    if (!this.spectro || this.spectro.columns < Math.min(w, 800) * 0.9)
      this.spectro = spectrogram(this.wav.samples, Math.min(w, 800));
    const s = this.spectro;
    // Log-frequency rows (40 Hz … Nyquist): speech and music live in the low kilohertz, which a linear
    // axis squeezes into a few pixels.
    const rows = 128;
    const nyquist = this.out.sampleRate / 2,
      lo = Math.log(40),
      hi = Math.log(nyquist);
    const binOf = new Int32Array(rows);
    for (let r = 0; r < rows; r++)
      binOf[r] = Math.min(
        s.bins - 1,
        Math.max(1, Math.round((Math.exp(lo + ((hi - lo) * r) / (rows - 1)) / nyquist) * s.bins)),
      );
    const img = new ImageData(s.columns, rows);
    for (let c = 0; c < s.columns; c++) {
      for (let r = 0; r < rows; r++) {
        const [red, gg, bb] = viridis(s.data[c * s.bins + binOf[r]]);
        const o = ((rows - 1 - r) * s.columns + c) * 4;
        img.data[o] = red;
        img.data[o + 1] = gg;
        img.data[o + 2] = bb;
        img.data[o + 3] = 255;
      }
    }
    const tmp = document.createElement('canvas');
    tmp.width = s.columns;
    tmp.height = rows;
    tmp.getContext('2d')?.putImageData(img, 0, 0);
    g.imageSmoothingEnabled = true;
    g.drawImage(tmp, 0, 0, w, SPEC_H);
  }

  /** Token spans as bands over the canvases; clicking one seeks to its start. */
  private drawMarks(): void {
    const d = this.out.durationSec || 1;
    this.marks.replaceChildren(
      ...this.out.spans.map((s, i) =>
        el('div', {
          class: `mark${i % 2 ? ' odd' : ''}`,
          title: `span #${s.span}: tokens ${s.tokenStart}\u2013${s.tokenEnd - 1}, ${s.startSec.toFixed(2)}\u2013${s.endSec.toFixed(2)} s`,
          style: { left: `${(s.startSec / d) * 100}%`, width: `${((s.endSec - s.startSec) / d) * 100}%` },
        }),
      ),
    );
  }
}
