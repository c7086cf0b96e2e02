/**
 * The token inspector UI: header with counts, toolbar (search, whitespace, colour scale, copy),
 * a virtualised wrap-around list of chips and one lazily-filled details pane.
 *
 * Keyboard: the chip list is a WAI-ARIA listbox with a roving tabindex (arrows, Home/End, PageUp/PageDown move;
 * Enter or Space pins a token or toggles a media group; Esc releases the pin and keeps focus). The inspector keeps
 * its keystrokes: a notebook output's webview forwards every key that bubbles to its window to the workbench, whose
 * keybindings would edit or run cells, and Tab past the last control would land in the next cell's editor (VS Code
 * puts a focus sink there). So keys stop at the inspector, Tab cycles inside it, and only Esc with nothing left to
 * release, function keys and Ctrl/Cmd shortcuts other than text editing reach VS Code (its focus commands included).
 */
import type { Generation, Span, TokenRecord } from '../../common/generation';
import { copyText, el } from '../shared/dom';
import { codeHue } from '../shared/palette';
import { emit, listen, PLAYHEAD_EVENT, SPAN_EVENT, type PlayheadLink, type SpanLink } from '../shared/link';
import { layoutRows, rowOf, visibleRows, type Row } from './layout';
import {
  buildItems,
  distributionLabel,
  formatProb,
  idsJson,
  logprobHue,
  matches,
  mediaSpans,
  showWhitespace,
  summarize,
  type ColourMode,
  type Item,
} from './model';

const ROW_H = 24;
const GAP = 3;
const CHIP_PAD = 12; // padding + border, keep in sync with .chip in styles.ts
const MAX_CHIP = 220;
const MOSAIC_W = 34;
const MAX_VIEW = 380;
const MODIFIERS = new Set(['Control', 'Shift', 'Alt', 'Meta']);
/** Ctrl/Cmd shortcuts that edit or move within the search box: the input handles them, VS Code must not. */
const EDITING_KEYS = new Set([
  'a',
  'c',
  'v',
  'x',
  'y',
  'z',
  'enter',
  ' ',
  'backspace',
  'delete',
  'home',
  'end',
  'arrowleft',
  'arrowright',
  'tab',
]);

export interface InspectorOptions {
  scope: string;
  signal: AbortSignal;
}

export class TokenInspector {
  private items: Item[] = [];
  private widths = new Float32Array(0);
  private rows: Row[] = [];
  private expanded = new Set<number>();
  private query = '';
  private onlyMatches = false;
  private whitespace = false;
  private colour: ColourMode = 'modality';
  private matchSet = new Set<number>();
  private shown: number[] = []; // indices into items after filtering
  private lastWidth = 0;
  private playing = -1;
  private selected = -1;
  private pinned = false;
  /** Position in `shown` of the chip that holds the list's tab stop. */
  private active = 0;
  private measureCtx: CanvasRenderingContext2D | null = null;

  private readonly scroller = el('div', {
    class: 'scroller',
    attrs: { role: 'listbox', 'aria-label': 'Tokens', 'aria-describedby': 'tok-help' },
  });
  private readonly sizer = el('div', { class: 'sizer', attrs: { role: 'none' } });
  /** Docked details pane, not a floating tooltip: a notebook output clips anything drawn outside its box. */
  private readonly tip = el('div', { class: 'tip', attrs: { id: 'tok-details', 'aria-live': 'polite' } });
  private readonly matchInfo = el('span', { class: 'muted match-info', attrs: { 'aria-live': 'polite' } });
  private readonly expandButton = el('button', { class: 'btn expand' });
  private copyIdsButton: HTMLButtonElement | undefined;
  private readonly legend = el('div', { class: 'legend' });
  private frame = 0;

  constructor(
    private readonly root: ShadowRoot,
    private readonly gen: Generation,
    private readonly opts: InspectorOptions,
  ) {}

  mount(): void {
    const { gen } = this;
    this.scroller.appendChild(this.sizer);
    this.placeholder();
    const help = el('span', {
      class: 'sr-only',
      attrs: { id: 'tok-help' },
      text: 'Arrow keys move between tokens, Enter pins a token or opens a media group, Escape releases the pin.',
    });
    const wrap = el(
      'div',
      { class: 'insp' },
      this.header(),
      this.toolbar(),
      this.legend,
      help,
      this.scroller,
      this.tip,
    );
    this.root.appendChild(wrap);
    wrap.addEventListener('keydown', (e) => this.containKey(e), { signal: this.opts.signal });
    this.items = buildItems(gen, this.expanded);
    this.updateLegend();
    this.updateButtons();
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true, signal: this.opts.signal });
    this.scroller.addEventListener('mouseover', (e) => this.onHover(e), { signal: this.opts.signal });
    this.scroller.addEventListener(
      'mouseleave',
      () => {
        if (!this.pinned) this.placeholder();
      },
      { signal: this.opts.signal },
    );
    this.scroller.addEventListener('click', (e) => this.onClick(e), { signal: this.opts.signal });
    this.scroller.addEventListener('keydown', (e) => this.onListKey(e), { signal: this.opts.signal });
    this.scroller.addEventListener(
      'focusin',
      (e) => {
        const hit = this.itemAt(e);
        if (!hit) return;
        const pos = this.shown.indexOf(hit.index);
        if (pos >= 0 && pos !== this.active) {
          // Focus moved by click or script: that chip becomes the tab stop.
          this.active = pos;
          for (const n of this.sizer.querySelectorAll<HTMLElement>('[tabindex="0"]')) n.tabIndex = -1;
          hit.node.tabIndex = 0;
        }
        if (!this.pinned) this.showTip(hit.index);
      },
      { signal: this.opts.signal },
    );
    this.scroller.addEventListener(
      'focus',
      (e) => {
        // The list itself is a tab stop only while the active chip is scrolled out of the rendered rows.
        if (e.target === this.scroller) this.focusActive();
      },
      { signal: this.opts.signal },
    );
    const ro = new ResizeObserver(() => this.relayout());
    ro.observe(this.scroller);
    this.opts.signal.addEventListener('abort', () => ro.disconnect());
    listen<PlayheadLink>(
      PLAYHEAD_EVENT,
      (d) => {
        if (d.scope === this.opts.scope) this.setPlaying(d.token);
      },
      this.opts.signal,
    );
    this.relayout();
  }

  // --- header and toolbar

  private header(): HTMLElement {
    const { gen } = this;
    const s = summarize(gen);
    const counts = (['text', 'image', 'speech', 'music'] as const)
      .filter((m) => s.counts[m] > 0)
      .map((m) =>
        el(
          'span',
          { class: `count m-${m}`, attrs: { 'data-modality': m } },
          el('i', { class: 'dot' }),
          el('span', { text: `${m} ${s.counts[m].toLocaleString('en-US')}` }),
        ),
      );
    const st = gen.stats;
    // A prompt-only record (%tokens) generated nothing: no rate and no stop reason to report.
    const ran = s.generated > 0;
    const stats = [
      `${s.prompt.toLocaleString('en-US')} prompt \u00b7 ${s.generated.toLocaleString('en-US')} generated`,
      ran && st ? `${st.tokensPerSecond.toFixed(1)} tok/s` : '',
      `seed ${gen.params?.seed ?? '?'}`,
      ran && gen.stopReason ? `stop: ${gen.stopReason}` : '',
    ].filter(Boolean);
    return el(
      'div',
      { class: 'head' },
      el('span', { class: 'title', text: 'Tokens' }),
      el('span', {
        class: 'model',
        text: `${gen.model?.name ?? 'model'} \u00b7 ${gen.model?.executionProvider ?? ''}`.replace(/ \u00b7 $/, ''),
        title: gen.model?.hash ?? '',
      }),
      el('span', { class: 'counts' }, ...counts),
      el('span', { class: 'stats' }, ...stats.map((t) => el('span', { class: 'stat', text: t }))),
    );
  }

  private toolbar(): HTMLElement {
    const search = el('input', {
      class: 'search',
      attrs: { type: 'search', placeholder: 'Search id or piece', 'aria-label': 'Search tokens by id or piece' },
    });
    search.addEventListener(
      'input',
      () => {
        this.query = search.value;
        this.refilter();
      },
      { signal: this.opts.signal },
    );
    search.addEventListener(
      'keydown',
      (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          this.jumpToMatch(e.shiftKey ? -1 : 1);
        } else if (e.key === 'Escape' && search.value) {
          // The first Esc clears the search (consumed); the next one leaves the inspector.
          e.preventDefault();
          search.value = '';
          this.query = '';
          this.refilter();
        }
      },
      { signal: this.opts.signal },
    );
    const only = this.checkbox('only matches', (v) => {
      this.onlyMatches = v;
      this.refilter();
    });
    const ws = this.checkbox('whitespace', (v) => {
      this.whitespace = v;
      this.relayout(true);
    });
    const colour = el(
      'select',
      { class: 'colour', attrs: { 'aria-label': 'Colour scale' } },
      el('option', { text: 'Colour: modality', attrs: { value: 'modality' } }),
      el('option', { text: 'Colour: log p (raw)', attrs: { value: 'logprob' } }),
      el('option', { text: 'Colour: log p (sampled)', attrs: { value: 'logprobSampled' } }),
    );
    colour.addEventListener(
      'change',
      () => {
        this.colour = colour.value as ColourMode;
        this.updateLegend();
        this.paint();
      },
      { signal: this.opts.signal },
    );
    const expand = this.expandButton;
    expand.addEventListener(
      'click',
      () => {
        // Expand every group unless all are open already; the label always names what a click does.
        const media = mediaSpans(this.gen);
        this.expanded = new Set(this.allExpanded() ? [] : media);
        this.rebuild();
      },
      { signal: this.opts.signal },
    );
    const copyIds = this.copyButton(
      () => (this.query.trim() ? 'Copy matching ids' : 'Copy ids'),
      () => idsJson(this.gen, this.items, this.query),
      () =>
        this.query.trim()
          ? 'Ids of the tokens that match the search, as a JSON array'
          : 'All token ids as a JSON array (while searching: only the matching ones)',
    );
    this.copyIdsButton = copyIds;
    const copyJson = this.copyButton(
      () => 'Copy JSON',
      () => JSON.stringify(this.gen, null, 1),
      () => 'The whole Generation record',
    );
    return el(
      'div',
      { class: 'toolbar' },
      search,
      this.matchInfo,
      only,
      ws,
      colour,
      el('span', { class: 'spacer' }),
      expand,
      copyIds,
      copyJson,
    );
  }

  private checkbox(label: string, onChange: (v: boolean) => void): HTMLElement {
    const box = el('input', { attrs: { type: 'checkbox' } });
    box.addEventListener('change', () => onChange(box.checked), { signal: this.opts.signal });
    return el('label', { class: 'check' }, box, el('span', { text: label }));
  }

  private copyButton(label: () => string, value: () => string, title: () => string): HTMLButtonElement {
    const b = el('button', { text: label(), class: 'btn', title: title() });
    b.addEventListener(
      'click',
      async () => {
        const ok = await copyText(value(), b);
        b.textContent = ok ? 'Copied' : 'Copy failed';
        setTimeout(() => (b.textContent = label()), 1200);
      },
      { signal: this.opts.signal },
    );
    return b;
  }

  private allExpanded(): boolean {
    const media = mediaSpans(this.gen);
    return media.length > 0 && media.every((i) => this.expanded.has(i));
  }

  /** Labels that follow the state: the expand button names what it will do, copy names what it copies. */
  private updateButtons(): void {
    const media = mediaSpans(this.gen);
    const all = this.allExpanded();
    this.expandButton.hidden = media.length === 0;
    this.expandButton.textContent = all ? 'Collapse media' : 'Expand media';
    this.expandButton.title = all
      ? 'Show each media span as one group again'
      : 'Show every media token instead of one group per span';
    const b = this.copyIdsButton;
    if (b && b.textContent !== 'Copied' && b.textContent !== 'Copy failed') {
      b.textContent = this.query.trim() ? 'Copy matching ids' : 'Copy ids';
    }
    if (b)
      b.title = this.query.trim()
        ? 'Ids of the tokens that match the search, as a JSON array'
        : 'All token ids as a JSON array (while searching: only the matching ones)';
  }

  private updateLegend(): void {
    this.legend.replaceChildren();
    if (this.colour === 'modality') {
      this.legend.hidden = true;
      return;
    }
    this.legend.hidden = false;
    this.legend.append(
      el('span', { class: 'muted', text: '\u22125' }),
      el('span', { class: 'ramp' }),
      el('span', { class: 'muted', text: '0' }),
      el('span', { class: 'muted', text: `${distributionLabel(this.colour)}. Prompt tokens have none.` }),
    );
  }

  // --- layout

  private rebuild(): void {
    const anchor = this.activeToken();
    this.items = buildItems(this.gen, this.expanded);
    this.refilter(anchor);
  }

  /** First token of the active chip's item, or -1. */
  private activeToken(): number {
    const i = this.shown[this.active];
    return i === undefined || !this.items[i] ? -1 : this.items[i].first;
  }

  /** Keep the active chip on the item that starts at token `first` across a rebuild or filter (or the next one). */
  private keepActive(first: number): void {
    if (first < 0) return;
    const k = this.shown.findIndex((i) => this.items[i].first >= first);
    this.active = k >= 0 ? k : Math.max(0, this.shown.length - 1);
  }

  private refilter(anchor = this.activeToken()): void {
    this.matchSet.clear();
    if (this.query.trim()) {
      for (let i = 0; i < this.items.length; i++)
        if (matches(this.gen, this.items[i], this.query)) this.matchSet.add(i);
      this.matchInfo.textContent = `${this.matchSet.size.toLocaleString('en-US')} match${this.matchSet.size === 1 ? '' : 'es'}`;
    } else {
      this.matchInfo.textContent = '';
    }
    this.updateButtons();
    this.relayout(true);
    this.keepActive(anchor);
    this.paint();
  }

  private label(item: Item): string {
    if (item.kind === 'group') return item.label;
    return this.whitespace
      ? showWhitespace(item.text)
      : item.text.replace(/\r?\n/g, '\u21b5').replace(/\t/g, '\u2192') || '\u2205';
  }

  private widthCache = new Map<string, number>();

  /** Text width in the chip font; cached per label because vocabularies repeat a lot. */
  private measure(text: string): number {
    const hit = this.widthCache.get(text);
    if (hit !== undefined) return hit;
    if (!this.measureCtx) {
      this.measureCtx = document.createElement('canvas').getContext('2d');
      const cs = getComputedStyle(this.scroller);
      if (this.measureCtx) this.measureCtx.font = `${cs.fontSize} ${cs.fontFamily}`;
    }
    const w = this.measureCtx ? this.measureCtx.measureText(text).width : text.length * 7.2;
    this.widthCache.set(text, w);
    return w;
  }

  private relayout(force = false): void {
    const width = this.scroller.clientWidth - 12;
    if (width <= 0 || (!force && width === this.lastWidth && this.rows.length)) {
      this.paint();
      return;
    }
    this.lastWidth = width;
    this.shown = this.onlyMatches && this.query.trim() ? [...this.matchSet] : this.items.map((_, i) => i);
    this.widths = new Float32Array(this.shown.length);
    for (let k = 0; k < this.shown.length; k++) {
      const item = this.items[this.shown[k]];
      const w = Math.ceil(this.measure(this.label(item))) + CHIP_PAD + (item.kind === 'group' ? MOSAIC_W + 18 : 0);
      this.widths[k] = Math.min(MAX_CHIP, Math.max(16, w));
    }
    this.rows = layoutRows(this.widths, width, GAP);
    this.active = Math.min(this.active, Math.max(0, this.shown.length - 1));
    const height = this.rows.length * ROW_H;
    this.sizer.style.height = `${height}px`;
    this.scroller.style.height = `${Math.min(MAX_VIEW, height + 8)}px`;
    this.paint();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  /** Create only the rows in view. */
  private paint(): void {
    const [first, last] = visibleRows(
      this.scroller.scrollTop,
      this.scroller.clientHeight || MAX_VIEW,
      ROW_H,
      this.rows.length,
    );
    const frag = document.createDocumentFragment();
    let activeNode: HTMLElement | undefined;
    for (let r = first; r < last; r++) {
      const row = this.rows[r];
      const line = el('div', { class: 'row', style: { top: `${r * ROW_H}px` }, attrs: { role: 'none' } });
      for (let k = row.start; k < row.end; k++) {
        const node = this.chip(this.shown[k], this.widths[k], k);
        if (k === this.active) activeNode = node;
        line.appendChild(node);
      }
      frag.appendChild(line);
    }
    // Repainting replaces the focused chip: give focus back to its replacement, or focus would fall out of the output.
    const focused = this.root.activeElement;
    const hadFocus = !!focused && (focused === this.scroller || this.sizer.contains(focused));
    this.sizer.replaceChildren(frag);
    // While the active chip is not rendered, the list itself keeps the tab stop (its focus handler scrolls back).
    if (activeNode || !this.shown.length) this.scroller.removeAttribute('tabindex');
    else this.scroller.setAttribute('tabindex', '0');
    if (hadFocus) (activeNode ?? this.scroller).focus({ preventScroll: true });
  }

  private chip(index: number, width: number, pos: number): HTMLElement {
    const item = this.items[index];
    const cls = ['chip', `m-${item.modality}`, item.generated ? 'gen' : 'prompt'];
    if (item.kind === 'token' && item.special) cls.push('special');
    if (this.matchSet.has(index)) cls.push('match');
    if (index === this.selected) cls.push('selected');
    if (this.playing >= 0 && this.covers(item, this.playing)) cls.push('playing');
    const node = el('span', {
      class: cls.join(' '),
      attrs: {
        'data-i': String(index),
        id: `tok-${index}`,
        role: 'option',
        tabindex: pos === this.active ? '0' : '-1',
        'aria-selected': String(index === this.selected),
        'aria-setsize': String(this.shown.length),
        'aria-posinset': String(pos + 1),
        'aria-label': this.chipLabel(item),
        'aria-describedby': 'tok-details',
      },
      style: { width: `${width}px` },
    });
    if (item.kind === 'group') {
      node.classList.add('group');
      if (item.expanded) node.classList.add('open');
      node.title = item.expanded ? 'Collapse this span into one group' : "Show this span's tokens";
      node.append(
        this.mosaic(this.gen.spans[item.span]),
        el('span', { class: 'label', text: item.label }),
        el('span', { class: 'caret', text: item.expanded ? '\u25be' : '\u25b8' }),
      );
      return node;
    }
    node.textContent = this.label(item);
    if (this.colour !== 'modality') {
      const hue = logprobHue(this.gen.tokens[item.last], this.colour);
      if (hue !== undefined) {
        node.style.setProperty('--lp', `hsl(${hue} 70% 45%)`);
        node.classList.add('lp');
      }
    }
    return node;
  }

  /** What a screen reader says for a chip: its text, id and place; the details pane follows on focus. */
  private chipLabel(item: Item): string {
    if (item.kind === 'group')
      return `${item.label}, ${item.generated ? 'generated' : 'prompt'} media group, ${item.expanded ? 'open' : 'collapsed'}`;
    const t = this.gen.tokens[item.last];
    const lp = t.logprob !== undefined ? `, log p ${t.logprob.toFixed(2)}` : '';
    return `${this.label(item)}, id ${t.id}, ${t.modality}, ${t.generated ? 'generated' : 'prompt'}${lp}`;
  }

  private covers(item: Item, token: number): boolean {
    return token >= item.first && token <= (item.kind === 'token' ? item.last : item.end - 1);
  }

  /** A small picture of a span's codes: a code mosaic for images, a code trace for audio. */
  private mosaic(span: Span | undefined): HTMLCanvasElement {
    const c = el('canvas', { class: 'mosaic', attrs: { width: String(MOSAIC_W * 2), height: '28' } });
    const g = c.getContext('2d');
    if (!g || !span || span.kind === 'text') return c;
    const flat = span.kind === 'music' ? (span.codes[0] ?? []) : span.codes;
    if (span.kind === 'image') {
      const cols = 8,
        rows = Math.max(1, Math.ceil(flat.length / cols));
      const cw = (MOSAIC_W * 2) / cols,
        ch = 28 / rows;
      flat.forEach((code, k) => {
        g.fillStyle = `hsl(${codeHue(code)} 55% 55%)`;
        g.fillRect((k % cols) * cw, Math.floor(k / cols) * ch, cw + 0.5, ch + 0.5);
      });
      return c;
    }
    const lanes = span.kind === 'music' ? span.codes : [flat];
    const n = Math.max(1, flat.length);
    const laneH = 28 / lanes.length;
    lanes.forEach((lane, q) => {
      for (let x = 0; x < MOSAIC_W * 2; x++) {
        const code = lane[Math.floor((x / (MOSAIC_W * 2)) * n)];
        if (code === undefined) continue;
        g.fillStyle = `hsl(${codeHue(code)} 60% 55%)`;
        g.fillRect(x, q * laneH, 1, laneH);
      }
    });
    return c;
  }

  // --- interaction

  private itemAt(e: Event): { index: number; node: HTMLElement } | undefined {
    const node = (e.target as HTMLElement | null)?.closest?.('.chip') as HTMLElement | null;
    if (!node) return undefined;
    return { index: Number(node.dataset.i), node };
  }

  private onHover(e: MouseEvent): void {
    if (this.pinned) return;
    const hit = this.itemAt(e);
    if (!hit) return;
    this.showTip(hit.index);
  }

  private onClick(e: MouseEvent): void {
    const hit = this.itemAt(e);
    if (!hit) return;
    const pos = this.shown.indexOf(hit.index);
    if (pos >= 0) this.active = pos;
    this.activate(hit.index, false);
  }

  /** Click, Enter or Space on a chip: a group opens or closes; a token is pinned (again: released). */
  private activate(index: number, toggle: boolean): void {
    const item = this.items[index];
    if (item.kind === 'group') {
      emit<SpanLink>(SPAN_EVENT, { scope: this.opts.scope, span: item.span });
      if (item.expanded) this.expanded.delete(item.span);
      else this.expanded.add(item.span);
      this.selected = -1;
      this.pinned = false;
      this.placeholder();
      this.rebuild();
      return;
    }
    if (toggle && this.pinned && this.selected === index) {
      this.unpin();
      return;
    }
    if (item.kind === 'token' && this.gen.tokens[item.first].span >= 0)
      emit<SpanLink>(SPAN_EVENT, { scope: this.opts.scope, span: this.gen.tokens[item.first].span });
    this.selected = index;
    this.pinned = true;
    this.showTip(index);
    this.paint();
  }

  private unpin(): void {
    this.pinned = false;
    this.selected = -1;
    const item = this.shown[this.active];
    if (item !== undefined && this.sizer.contains(this.root.activeElement)) this.showTip(item);
    else this.placeholder();
    this.paint();
  }

  // --- keyboard

  /** Keys inside the list: the listbox pattern over a wrapping, virtualised list. */
  private onListKey(e: KeyboardEvent): void {
    if (!this.shown.length || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = this.active;
    const r = rowOf(this.rows, k);
    const row = this.rows[r];
    const page = Math.max(1, Math.floor((this.scroller.clientHeight || MAX_VIEW) / ROW_H) - 1);
    const down = (n: number) => {
      const target = this.rows[Math.max(0, Math.min(this.rows.length - 1, r + n))];
      return Math.min(target.end - 1, target.start + (k - row.start));
    };
    let next: number | undefined;
    switch (e.key) {
      case 'ArrowRight':
        next = k + 1;
        break;
      case 'ArrowLeft':
        next = k - 1;
        break;
      case 'ArrowDown':
        next = down(1);
        break;
      case 'ArrowUp':
        next = down(-1);
        break;
      case 'PageDown':
        next = down(page);
        break;
      case 'PageUp':
        next = down(-page);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.shown.length - 1;
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.activate(this.shown[k], true);
        return;
      case 'Escape':
        if (this.pinned) {
          e.preventDefault(); // consumed: the inspector keeps focus
          this.unpin();
        }
        return;
      default:
        return;
    }
    e.preventDefault();
    this.moveTo(Math.max(0, Math.min(this.shown.length - 1, next)));
  }

  private moveTo(pos: number): void {
    this.active = pos;
    this.scrollToActive();
    this.paint();
    this.focusActive();
    if (!this.pinned) this.showTip(this.shown[pos]);
  }

  private scrollToActive(): void {
    const r = rowOf(this.rows, this.active);
    if (r < 0) return;
    const top = r * ROW_H;
    const view = this.scroller.clientHeight || MAX_VIEW;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_H > this.scroller.scrollTop + view - 8) this.scroller.scrollTop = top + ROW_H - view + 8;
  }

  private focusActive(): void {
    let node = this.sizer.querySelector<HTMLElement>('[tabindex="0"]');
    if (!node) {
      this.scrollToActive();
      this.paint();
      node = this.sizer.querySelector<HTMLElement>('[tabindex="0"]');
    }
    node?.focus({ preventScroll: true });
  }

  /**
   * Every key pressed inside the inspector stays inside it (see the file comment), except what is meant for
   * VS Code: Esc that nothing inside consumed, function keys, and Ctrl/Cmd shortcuts that are not text editing.
   * Tab wraps around the inspector's controls instead of walking into the next cell.
   */
  private containKey(e: KeyboardEvent): void {
    if (e.key === 'Tab' && !e.ctrlKey && !e.metaKey && !e.altKey) this.cycleTab(e);
    if (e.key === 'Escape' && !e.defaultPrevented) return;
    if (/^F\d{1,2}$/.test(e.key)) return;
    if ((e.ctrlKey || e.metaKey) && !EDITING_KEYS.has(e.key.toLowerCase()) && !MODIFIERS.has(e.key)) return;
    e.stopPropagation();
  }

  private cycleTab(e: KeyboardEvent): void {
    const stops = [...this.root.querySelectorAll<HTMLElement>('input, select, button, [tabindex="0"]')].filter(
      (n) => !n.hidden && !(n as HTMLButtonElement).disabled && n.getClientRects().length > 0,
    );
    if (!stops.length) return;
    const at = stops.indexOf(this.root.activeElement as HTMLElement);
    if (e.shiftKey && at <= 0) {
      e.preventDefault();
      stops[stops.length - 1].focus();
    } else if (!e.shiftKey && at === stops.length - 1) {
      e.preventDefault();
      stops[0].focus();
    }
  }

  private setPlaying(token: number): void {
    if (token === this.playing) return;
    this.playing = token;
    this.sizer.querySelectorAll('.playing').forEach((n) => n.classList.remove('playing'));
    if (token < 0) return;
    for (const n of this.sizer.querySelectorAll<HTMLElement>('.chip')) {
      if (this.covers(this.items[Number(n.dataset.i)], token)) n.classList.add('playing');
    }
  }

  private jumpToMatch(dir: 1 | -1): void {
    if (!this.matchSet.size) return;
    const sorted = [...this.matchSet].sort((a, b) => a - b);
    const cur = this.selected;
    const next =
      dir > 0
        ? (sorted.find((i) => i > cur) ?? sorted[0])
        : ([...sorted].reverse().find((i) => i < cur) ?? sorted[sorted.length - 1]);
    this.selected = next;
    const pos = this.shown.indexOf(next);
    if (pos >= 0) this.active = pos;
    const r = rowOf(this.rows, pos);
    if (r >= 0) this.scroller.scrollTop = Math.max(0, r * ROW_H - this.scroller.clientHeight / 2);
    this.paint();
  }

  // --- hover card (built on demand: details load lazily)

  private placeholder(): void {
    this.tip.replaceChildren(
      el('div', {
        class: 'muted hint',
        text: 'Hover or focus a token (Tab, then arrow keys) for its id, log-probs, entropy and top-5 alternatives. Click or Enter pins it (Esc releases); a media group opens and closes the same way.',
      }),
    );
  }

  private showTip(index: number): void {
    const item = this.items[index];
    this.tip.replaceChildren(
      ...(item.kind === 'group' ? this.groupCard(item) : this.tokenCards(item.first, item.last)),
    );
  }

  private groupCard(item: Extract<Item, { kind: 'group' }>): HTMLElement[] {
    const span = this.gen.spans[item.span];
    const codes =
      span && span.kind !== 'text'
        ? span.kind === 'music'
          ? span.codes.map((l) => l.length).join('\u00d7') + ' (codebook\u00d7frame)'
          : `${span.codes.length}`
        : '?';
    const rows: [string, string][] = [
      [
        'span',
        `#${item.span} \u00b7 ${span?.role ?? ''}${span && span.kind !== 'text' && !span.complete ? ' \u00b7 incomplete' : ''}`,
      ],
      ['tokens', `${item.end - item.first} (positions ${item.first}\u2013${item.end - 1})`],
      ['codes', codes],
    ];
    return [
      el(
        'div',
        { class: 'card' },
        el(
          'div',
          { class: 'main' },
          el(
            'div',
            { class: 'tip-head' },
            el('span', { class: `tag m-${item.modality}`, text: item.modality }),
            el('span', { text: item.label }),
          ),
          this.kv(rows),
        ),
        el('div', {
          class: 'muted side',
          text: item.expanded
            ? 'Click or Enter collapses the span into one group again.'
            : 'Click or Enter shows its tokens and highlights the matching media output.',
        }),
      ),
    ];
  }

  private tokenCards(first: number, last: number): HTMLElement[] {
    const cards: HTMLElement[] = [];
    // A UTF-8 group shows its bytes' cards side by side; the last one carries the sampling details.
    for (let k = first; k <= last && k < first + 4; k++) cards.push(this.tokenCard(this.gen.tokens[k]));
    return cards;
  }

  private tokenCard(t: TokenRecord): HTMLElement {
    const rows: [string, string][] = [
      ['id', String(t.id)],
      ['piece', JSON.stringify(t.piece)],
      ['position', `${t.position}${t.generated ? ' \u00b7 generated' : ' \u00b7 prompt'}`],
      ['modality', t.modality + (t.span >= 0 ? ` \u00b7 span #${t.span}` : '')],
    ];
    if (t.codebook !== undefined) rows.push(['codebook / frame', `${t.codebook} / ${t.frame ?? '?'}`]);
    if (t.logprob !== undefined)
      rows.push(['log p (raw)', `${t.logprob.toFixed(3)}  (p ${formatProb(Math.exp(t.logprob))})`]);
    if (t.logprobSampled !== undefined)
      rows.push(['log p (sampled)', `${t.logprobSampled.toFixed(3)}  (p ${formatProb(Math.exp(t.logprobSampled))})`]);
    if (t.entropy !== undefined) rows.push(['entropy', `${t.entropy.toFixed(3)} nats`]);
    if (t.stepMs !== undefined) rows.push(['step time', `${t.stepMs.toFixed(1)} ms`]);
    const card = el(
      'div',
      { class: 'card' },
      el(
        'div',
        { class: 'main' },
        el(
          'div',
          { class: 'tip-head' },
          el('span', { class: `tag m-${t.modality}`, text: t.modality }),
          el('code', { class: 'piece', text: showWhitespace(t.piece) }),
        ),
        this.kv(rows),
      ),
    );
    if (!t.generated) card.appendChild(el('div', { class: 'muted side', text: 'Prompt token: no sampling details.' }));
    if (t.top?.length) {
      const table = el(
        'div',
        { class: 'top side' },
        el('div', { class: 'muted', text: 'top-5 alternatives (raw distribution)' }),
      );
      for (const alt of t.top.slice(0, 5)) {
        table.appendChild(
          el(
            'div',
            { class: `alt${alt.id === t.id ? ' chosen' : ''}` },
            el('code', { class: 'alt-piece', text: showWhitespace(alt.piece) }),
            el('span', { class: 'muted alt-id', text: String(alt.id) }),
            el('span', { class: 'bar' }, el('i', { style: { width: `${Math.max(1, alt.prob * 100)}%` } })),
            el('span', { class: 'alt-p', text: formatProb(alt.prob) }),
          ),
        );
      }
      card.appendChild(table);
    }
    return card;
  }

  private kv(rows: [string, string][]): HTMLElement {
    return el('dl', { class: 'kv' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  }
}
