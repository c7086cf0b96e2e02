/** Stylesheet of the audio renderer (shadow root). */
import { MODALITY_CSS } from '../shared/palette';

export const AUDIO_CSS = `
:host { display: block; ${MODALITY_CSS}
  --fg: var(--vscode-editor-foreground, #1f1f1f); --muted: var(--vscode-descriptionForeground, #717171);
  --border: var(--vscode-panel-border, rgba(128,128,128,.35));
  color: var(--fg); font-family: var(--vscode-font-family, system-ui, sans-serif); font-size: 12px; }
:host(.flash) .aud { box-shadow: 0 0 0 2px var(--c); transition: box-shadow .2s; }
.aud { border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px 10px; }
.m-speech { --c: var(--m-speech); } .m-music { --c: var(--m-music); } .m-image { --c: var(--m-image); } .m-text { --c: var(--m-text); }
.head, .controls { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin-bottom: 8px; }
.tag { font-size: 10px; text-transform: uppercase; letter-spacing: .05em; padding: 2px 6px; border-radius: 3px; background: color-mix(in srgb, var(--c) 25%, transparent); }
.fact { color: var(--muted); font-variant-numeric: tabular-nums; }
.spacer { flex: 1; }
.clock { font-family: var(--vscode-editor-font-family, monospace); font-variant-numeric: tabular-nums; }
.hover { font-family: var(--vscode-editor-font-family, monospace); }
.muted { color: var(--muted); }
.btn { font: inherit; padding: 3px 10px; border-radius: 3px; cursor: pointer; text-decoration: none; display: inline-block;
  border: 1px solid var(--vscode-button-border, transparent);
  color: var(--vscode-button-secondaryForeground, inherit); background: var(--vscode-button-secondaryBackground, rgba(128,128,128,.15)); }
.btn:hover { background: var(--vscode-button-secondaryHoverBackground, rgba(128,128,128,.25)); }
.btn.primary { color: var(--vscode-button-foreground, #fff); background: var(--vscode-button-background, #0e639c); }
.btn.primary:hover { background: var(--vscode-button-hoverBackground, #1177bb); }
.btn:focus-visible { outline: 1px solid var(--vscode-focusBorder, #0090f1); outline-offset: 1px; }
.play { min-width: 78px; }
.grid { display: grid; grid-template-columns: 92px 1fr; gap: 0 8px; }
.labels { display: flex; flex-direction: column; gap: 4px; color: var(--muted); font-size: 11px; text-align: right; }
.labels span { display: flex; align-items: center; justify-content: flex-end; }
.stack { position: relative; display: flex; flex-direction: column; gap: 4px; cursor: crosshair; touch-action: none; user-select: none; }
canvas { display: block; width: 100%; border-radius: 3px; }
.wave { background: color-mix(in srgb, var(--c) 5%, transparent); }
.playhead { position: absolute; top: -2px; bottom: -2px; width: 2px; margin-left: -1px; background: var(--vscode-editorCursor-foreground, #e51400);
  pointer-events: none; box-shadow: 0 0 3px rgba(0,0,0,.35); }
.marks { position: absolute; inset: 0; pointer-events: none; }
.mark { position: absolute; top: 0; height: 64px; border-left: 1px dashed color-mix(in srgb, var(--c) 70%, transparent);
  border-right: 1px dashed color-mix(in srgb, var(--c) 70%, transparent); box-sizing: border-box; }
.mark.odd { background: color-mix(in srgb, var(--c) 6%, transparent); }
.notice { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; padding: 8px 10px; border-left: 3px solid var(--vscode-editorWarning-foreground, #bf8803);
  background: color-mix(in srgb, var(--vscode-editorWarning-foreground, #bf8803) 8%, transparent); }
.error { padding: 8px 10px; border-left: 3px solid var(--vscode-errorForeground, #f14c4c); }
`;
