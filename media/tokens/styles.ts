/** Stylesheet of the token inspector (injected into its shadow root). Colours come from the VS Code theme. */
import { MODALITY_CSS } from '../shared/palette';

export const TOKENS_CSS = `
:host { display: block; ${MODALITY_CSS}
  --fg: var(--vscode-editor-foreground, #1f1f1f); --muted: var(--vscode-descriptionForeground, #717171);
  --bg: var(--vscode-editor-background, #fff); --border: var(--vscode-panel-border, rgba(128,128,128,.35));
  --chip-font: var(--vscode-editor-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
  --focus: var(--vscode-focusBorder, #0090f1);
  --match: var(--vscode-editor-findMatchHighlightBorder, var(--vscode-editor-findMatchBorder, var(--vscode-focusBorder, #f2cc60)));
  color: var(--fg); font-family: var(--vscode-font-family, system-ui, sans-serif); font-size: 12px; }
.insp { position: relative; border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px 10px; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin-bottom: 8px; }
.title { font-weight: 600; font-size: 13px; }
.model { color: var(--muted); }
.counts { display: inline-flex; gap: 10px; }
.count { display: inline-flex; align-items: center; gap: 4px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--c); display: inline-block; }
.stats { display: inline-flex; gap: 10px; margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; }
.m-text { --c: var(--m-text); } .m-image { --c: var(--m-image); } .m-speech { --c: var(--m-speech); } .m-music { --c: var(--m-music); }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin-bottom: 6px; }
.spacer { flex: 1; }
.search { width: 180px; padding: 3px 6px; color: var(--vscode-input-foreground, inherit); background: var(--vscode-input-background, transparent);
  border: 1px solid var(--vscode-input-border, var(--border)); border-radius: 3px; font: inherit; }
.search:focus, select:focus, .btn:focus-visible, .scroller:focus-visible { outline: 1px solid var(--focus); outline-offset: -1px; }
.check { display: inline-flex; align-items: center; gap: 3px; color: var(--muted); cursor: pointer; }
.check input { margin: 0 2px 0 0; accent-color: var(--vscode-checkbox-background, auto); }
.check input:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
select { font: inherit; color: var(--vscode-dropdown-foreground, inherit); background: var(--vscode-dropdown-background, transparent);
  border: 1px solid var(--vscode-dropdown-border, var(--border)); border-radius: 3px; padding: 2px 4px; }
.btn { font: inherit; padding: 3px 9px; border-radius: 3px; cursor: pointer; border: 1px solid var(--vscode-button-border, transparent);
  color: var(--vscode-button-secondaryForeground, inherit); background: var(--vscode-button-secondaryBackground, rgba(128,128,128,.15)); }
.btn:hover { background: var(--vscode-button-secondaryHoverBackground, rgba(128,128,128,.25)); }
.muted { color: var(--muted); }
.legend { display: flex; align-items: center; gap: 8px; margin: 0 0 6px; font-size: 11px; }
.legend[hidden] { display: none; }
.ramp { width: 90px; height: 8px; border-radius: 4px; background: linear-gradient(90deg, hsl(0 70% 45%), hsl(65 70% 45%), hsl(130 70% 45%)); }
.scroller { position: relative; overflow-y: auto; overflow-x: hidden; font-family: var(--chip-font); font-size: 12px; padding: 4px 6px;
  border-top: 1px solid var(--border); }
.sizer { position: relative; }
.row { position: absolute; left: 0; right: 0; height: 24px; display: flex; gap: 3px; align-items: center; white-space: nowrap; }
.chip { box-sizing: border-box; height: 20px; line-height: 18px; padding: 0 5px; border-radius: 4px; white-space: pre; overflow: hidden;
  text-overflow: ellipsis; flex: none; cursor: default; border: 1px solid color-mix(in srgb, var(--c) 55%, transparent);
  background: color-mix(in srgb, var(--c) 16%, transparent); }
.chip.prompt { border-style: dashed; background: color-mix(in srgb, var(--c) 7%, transparent); }
.chip.special { font-style: italic; color: var(--muted); background: transparent; }
.chip.lp { background: color-mix(in srgb, var(--lp) 40%, transparent); border-color: color-mix(in srgb, var(--lp) 70%, transparent); }
/* A match is marked by a ring and an underline, never by the background: that carries the log-prob colour. */
.chip.match { box-shadow: 0 0 0 2px var(--match) inset; text-decoration: underline 2px var(--match); text-underline-offset: 2px; }
.chip.selected { outline: 2px solid var(--focus); outline-offset: 0; }
.chip:focus { outline: 1px dashed var(--focus); outline-offset: 1px; }
.chip.selected:focus { outline: 2px solid var(--focus); outline-offset: 1px; }
.chip.playing { outline: 2px solid var(--c); background: color-mix(in srgb, var(--c) 45%, transparent); }
.chip.group { display: inline-flex; align-items: center; gap: 5px; cursor: pointer; padding-left: 2px; font-family: var(--vscode-font-family, sans-serif); }
.chip.group:hover { background: color-mix(in srgb, var(--c) 30%, transparent); }
.chip.group.open { background: transparent; border-style: solid; }
.mosaic { width: 34px; height: 14px; border-radius: 2px; flex: none; }
.caret { color: var(--fg); }
.tip { margin-top: 8px; padding: 8px 10px; min-height: 96px; box-sizing: border-box; border-radius: 4px; font-size: 12px;
  background: var(--vscode-editorWidget-background, rgba(128,128,128,.06)); border: 1px solid var(--border); }
.hint { padding-top: 4px; }
.card { display: grid; grid-template-columns: minmax(220px, 1fr) minmax(220px, 1.1fr); gap: 6px 24px; }
.card + .card { margin-top: 8px; padding-top: 8px; border-top: 1px solid var(--border); }
.side { align-self: start; }
.tip-head { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; }
.tag { font-size: 10px; text-transform: uppercase; letter-spacing: .04em; padding: 1px 5px; border-radius: 3px; background: color-mix(in srgb, var(--c) 25%, transparent); }
.piece { font-family: var(--chip-font); font-size: 13px; white-space: pre-wrap; word-break: break-all; }
.kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; font-family: var(--chip-font); word-break: break-all; }
.top { display: grid; gap: 3px; }
.alt { display: grid; grid-template-columns: minmax(40px, 1fr) 44px 80px 44px; gap: 6px; align-items: center; }
.alt.chosen { font-weight: 600; }
.alt-piece { font-family: var(--chip-font); white-space: pre; overflow: hidden; text-overflow: ellipsis; }
.alt-id { text-align: right; font-variant-numeric: tabular-nums; }
.alt-p { text-align: right; font-variant-numeric: tabular-nums; }
.bar { height: 6px; border-radius: 3px; background: rgba(128,128,128,.18); overflow: hidden; }
.bar i { display: block; height: 100%; background: var(--vscode-charts-blue, #3794ff); }
.error { padding: 8px 10px; border-left: 3px solid var(--vscode-errorForeground, #f14c4c); }
`;
