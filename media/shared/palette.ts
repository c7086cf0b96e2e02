/**
 * Modality colours, derived from the VS Code theme: each starts from the theme's chart colour and is mixed a quarter
 * of the way towards the editor's text colour. Chart colours are tuned for charts on the theme's background, not
 * for small marks (light themes' orange is 2.9:1 on white); the text colour always contrasts with the background,
 * so the mix keeps the hue and lifts every modality to at least 3:1 (WCAG non-text contrast) in light, dark and
 * high-contrast themes (test/media/contrast.test.ts). The hex values are fallbacks outside VS Code.
 */
import type { Modality } from '../../common/manifest';

export const MODALITY_VAR: Record<Modality, { cssVar: string; fallback: string }> = {
  text: { cssVar: '--vscode-charts-blue', fallback: '#3794ff' },
  image: { cssVar: '--vscode-charts-purple', fallback: '#b180d7' },
  speech: { cssVar: '--vscode-charts-orange', fallback: '#d18616' },
  music: { cssVar: '--vscode-charts-green', fallback: '#89d185' },
};

/** How much of the theme's text colour goes into a modality colour. */
export const TOWARDS_TEXT = 25;

/** CSS custom properties that the renderers' stylesheets use (`--m-text` …). */
export const MODALITY_CSS = Object.entries(MODALITY_VAR)
  .map(
    ([m, v]) =>
      `--m-${m}: color-mix(in srgb, var(${v.cssVar}, ${v.fallback}) ${100 - TOWARDS_TEXT}%, var(--vscode-editor-foreground, #808080));`,
  )
  .join(' ');

/**
 * A CSS colour as canvas can use it: custom properties hold unresolved `color-mix(…)` text, so let the browser
 * compute it on a probe element inside `root` (where the variables are defined).
 */
export function resolveColour(root: ShadowRoot | HTMLElement, css: string): string {
  const probe = document.createElement('i');
  probe.style.display = 'none';
  probe.style.color = css;
  root.appendChild(probe);
  const c = getComputedStyle(probe).color;
  probe.remove();
  return c;
}

/** A stable, pleasant colour for a code id (hue spread by the golden angle). */
export function codeHue(code: number): number {
  return (code * 137.508) % 360;
}

/** Perceptually ordered colour map (viridis-like stops), t in [0,1] → [r,g,b]. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i],
    b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}
