/**
 * Headless Chromium harness for the renderers: bundles media/*\/index.ts in memory with esbuild,
 * serves it from a fake origin (module scripts cannot load from file://), and mounts outputs the way
 * VS Code does: activate(ctx).renderOutputItem(item, element). The page carries VS Code theme
 * variables so screenshots look like a notebook.
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ORIGIN = 'http://anygpt.test';
export const SHOTS = join(process.cwd(), 'test-output', 'renderers');

const THEMES = {
  dark: {
    '--vscode-editor-background': '#1f1f1f',
    '--vscode-editor-foreground': '#cccccc',
    '--vscode-descriptionForeground': '#9d9d9d',
    '--vscode-panel-border': '#2b2b2b',
    '--vscode-charts-blue': '#3794ff',
    '--vscode-charts-purple': '#b180d7',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#89d185',
    '--vscode-focusBorder': '#0078d4',
    '--vscode-button-background': '#0078d4',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#026ec1',
    '--vscode-button-secondaryBackground': '#313131',
    '--vscode-button-secondaryForeground': '#cccccc',
    '--vscode-button-secondaryHoverBackground': '#3c3c3c',
    '--vscode-input-background': '#313131',
    '--vscode-input-foreground': '#cccccc',
    '--vscode-input-border': '#3c3c3c',
    '--vscode-dropdown-background': '#313131',
    '--vscode-dropdown-foreground': '#cccccc',
    '--vscode-dropdown-border': '#3c3c3c',
    '--vscode-editorHoverWidget-background': '#202020',
    '--vscode-editorHoverWidget-border': '#454545',
    '--vscode-widget-shadow': 'rgba(0,0,0,.36)',
    '--vscode-editor-findMatchHighlightBackground': 'rgba(234,92,0,.33)',
    '--vscode-editorCursor-foreground': '#aeafad',
    '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
    '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  },
  light: {
    '--vscode-editor-background': '#ffffff',
    '--vscode-editor-foreground': '#3b3b3b',
    '--vscode-descriptionForeground': '#717171',
    '--vscode-panel-border': '#e5e5e5',
    '--vscode-charts-blue': '#1a85ff',
    '--vscode-charts-purple': '#652d90',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#388a34',
    '--vscode-focusBorder': '#005fb8',
    '--vscode-button-background': '#005fb8',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-secondaryBackground': '#e5e5e5',
    '--vscode-button-secondaryForeground': '#3b3b3b',
    '--vscode-input-background': '#ffffff',
    '--vscode-input-border': '#cecece',
    '--vscode-editorHoverWidget-background': '#f8f8f8',
    '--vscode-editorHoverWidget-border': '#c8c8c8',
    '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
    '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  },
  // VS Code's Default High Contrast and High Contrast Light themes (their chart colours are the base theme's).
  'hc-dark': {
    '--vscode-editor-background': '#000000',
    '--vscode-editor-foreground': '#ffffff',
    '--vscode-descriptionForeground': 'rgba(255,255,255,.7)',
    '--vscode-panel-border': '#6fc3df',
    '--vscode-contrastBorder': '#6fc3df',
    '--vscode-charts-blue': '#3794ff',
    '--vscode-charts-purple': '#b180d7',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#89d185',
    '--vscode-focusBorder': '#f38518',
    '--vscode-button-background': '#000000',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-border': '#6fc3df',
    '--vscode-button-secondaryForeground': '#ffffff',
    '--vscode-input-background': '#000000',
    '--vscode-input-foreground': '#ffffff',
    '--vscode-input-border': '#6fc3df',
    '--vscode-dropdown-background': '#000000',
    '--vscode-dropdown-foreground': '#ffffff',
    '--vscode-dropdown-border': '#6fc3df',
    '--vscode-editorWidget-background': '#0c141f',
    '--vscode-editor-findMatchHighlightBorder': '#f38518',
    '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
    '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  },
  'hc-light': {
    '--vscode-editor-background': '#ffffff',
    '--vscode-editor-foreground': '#292929',
    '--vscode-descriptionForeground': 'rgba(41,41,41,.7)',
    '--vscode-panel-border': '#0f4a85',
    '--vscode-contrastBorder': '#0f4a85',
    '--vscode-charts-blue': '#1a85ff',
    '--vscode-charts-purple': '#652d90',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#388a34',
    '--vscode-focusBorder': '#006bbd',
    '--vscode-button-background': '#0f4a85',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-border': '#0f4a85',
    '--vscode-button-secondaryForeground': '#292929',
    '--vscode-input-background': '#ffffff',
    '--vscode-input-foreground': '#292929',
    '--vscode-input-border': '#0f4a85',
    '--vscode-dropdown-background': '#ffffff',
    '--vscode-dropdown-foreground': '#292929',
    '--vscode-dropdown-border': '#0f4a85',
    '--vscode-editorWidget-background': '#ffffff',
    '--vscode-editor-findMatchHighlightBorder': '#0f4a85',
    '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
    '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  },
} as const;

export type Theme = keyof typeof THEMES;
export const THEME_NAMES = Object.keys(THEMES) as Theme[];

let bundles: Promise<Record<string, string>> | undefined;

function bundle(): Promise<Record<string, string>> {
  bundles ??= (async () => {
    const out: Record<string, string> = {};
    for (const name of ['tokens', 'audio']) {
      const r = await build({
        entryPoints: [`media/${name}/index.ts`],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      });
      out[`/${name}.js`] = r.outputFiles[0].text;
    }
    return out;
  })();
  return bundles;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

export async function openPage(browser: Browser, theme: Theme = 'dark', width = 980): Promise<Page> {
  const files = await bundle();
  const page = await browser.newPage({ viewport: { width, height: 760 } });
  const vars = Object.entries(THEMES[theme])
    .map(([k, v]) => `${k}: ${v};`)
    .join(' ');
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
    body { margin: 0; padding: 16px 24px; background: var(--vscode-editor-background); color: var(--vscode-editor-foreground); ${vars} }
    .cell_container { margin-bottom: 14px; }
  </style></head><body data-vscode-theme-kind="vscode-${theme.replace('hc-dark', 'high-contrast').replace('hc-light', 'high-contrast-light')}"><div class="cell_container" id="cell-1"></div></body></html>`;
  await page.route(`${ORIGIN}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/' || path === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const js = files[path];
    return js ? route.fulfill({ contentType: 'text/javascript', body: js }) : route.fulfill({ status: 404, body: '' });
  });
  // tsx compiles callbacks passed to page.evaluate with esbuild's keepNames, which references __name.
  await page.addInitScript('window.__name = (f) => f;');
  await page.goto(`${ORIGIN}/`);
  return page;
}

/** Mount one output item with the renderer `name`; returns the element's id. */
export async function mount(
  page: Page,
  name: 'tokens' | 'audio',
  data: unknown,
  id = `out-${Math.random().toString(36).slice(2)}`,
): Promise<string> {
  await page.evaluate(
    async ({ name, data, id, origin }) => {
      const mod = await import(`${origin}/${name}.js`);
      const w = window as unknown as { __ctx?: Record<string, unknown> };
      const api = mod.activate(
        w.__ctx ?? { workspace: { isTrusted: true }, getState: () => undefined, setState: () => undefined },
      );
      const host = document.createElement('div');
      host.id = id;
      host.className = 'output';
      document.getElementById('cell-1')!.appendChild(host);
      const json = JSON.stringify(data);
      await api.renderOutputItem(
        {
          id,
          mime: name,
          metadata: {},
          json: () => JSON.parse(json),
          text: () => json,
          data: () => new TextEncoder().encode(json),
          blob: () => new Blob([json]),
        },
        host,
        new AbortController().signal,
      );
    },
    { name, data, id, origin: ORIGIN },
  );
  return id;
}

export function shotPath(name: string): string {
  const p = join(SHOTS, `${name}.png`);
  mkdirSync(dirname(p), { recursive: true });
  return p;
}

/** Text of every element matching `sel` inside the shadow root of the output element `id`. */
export function shadowTexts(page: Page, id: string, sel: string): Promise<string[]> {
  return page.evaluate(
    ({ id, sel }) =>
      [...document.getElementById(id)!.shadowRoot!.querySelectorAll(sel)].map((n) => n.textContent ?? ''),
    { id, sel },
  );
}
