/**
 * A Jupyter Server the user connected to, as the extension keeps it: the URL and kernelspec (in globalState), the
 * token (in SecretStorage, under a key derived from the URL). Pure, so the rules are unit-tested without VS Code.
 */
import { createHash } from 'node:crypto';

export interface SavedServer {
  /** Normalised: http(s), no query or fragment, ending in '/'. */
  url: string;
  /** The AnyGPT kernelspec to start there. */
  kernelName: string;
}

export interface ParsedServerUrl {
  url: string;
  /** A token pasted as part of the URL (`?token=…`, as `jupyter server list` prints it). */
  token?: string;
}

/** Checks and normalises what the user typed; throws a message fit to show under the input box. */
export function parseServerUrl(input: string): ParsedServerUrl {
  let u: URL;
  try {
    u = new URL(input.trim());
  } catch {
    throw new Error('not a URL; expected e.g. https://gpu-box:8888/');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the URL must start with http:// or https://');
  if (u.username || u.password) throw new Error('put the token in the token box, not in the URL');
  const token = u.searchParams.get('token') ?? undefined;
  u.search = '';
  u.hash = '';
  // `jupyter server list` prints …/lab or …/tree for front ends; the API lives at the base URL.
  u.pathname = u.pathname.replace(/\/(lab|tree|notebooks)(\/.*)?$/, '/');
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return { url: u.href, token };
}

/** The NotebookController id of a server: stable for its URL, safe in a `notebookKernel` regex. */
export function controllerIdFor(url: string): string {
  return `anygpt-remote-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/** "host:port" (plus the base path when there is one): the server's name in "AnyGPT (…)". */
export function serverName(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.host}${path}`;
}

export function tokenSecretKey(url: string): string {
  return `anygpt.jupyterServer.token:${url}`;
}

/** Adds or replaces a server in the saved list (one entry per URL). */
export function withServer(list: readonly SavedServer[], s: SavedServer): SavedServer[] {
  return [...list.filter((x) => x.url !== s.url), s];
}
