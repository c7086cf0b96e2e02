/**
 * The client half of the Jupyter wire protocol 5.3: sign and frame requests, parse and verify replies.
 * Kept apart from the kernel's own wire.ts on purpose: the extension room depends on common/ only,
 * and a client must not silently share a bug with the server it talks to.
 */
import { createHmac, randomUUID } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIM = '<IDS|MSG>';

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
}

export function sign(key: string, scheme: string, parts: Buffer[]): string {
  if (!key) return '';
  const h = createHmac(scheme.replace(/^hmac-/, ''), key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function header(msgType: string, session: string): Header {
  return { msg_id: randomUUID(), session, username: 'vscode', date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION };
}

export function encodeMessage(msg: JupyterMessage<unknown>, key: string, scheme = 'hmac-sha256'): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p)));
  return [Buffer.from(DELIM), Buffer.from(sign(key, scheme, parts)), ...parts];
}

/** Parse frames (routing ids or an iopub topic may precede the delimiter). Returns undefined for a bad signature. */
export function decodeMessage(frames: Buffer[], key: string, scheme = 'hmac-sha256'): JupyterMessage | undefined {
  const d = frames.findIndex((f) => f.toString('latin1') === DELIM);
  if (d < 0 || frames.length < d + 6) return undefined;
  const [sig, ...parts] = frames.slice(d + 1, d + 6);
  if (key && sig.toString('latin1') !== sign(key, scheme, parts)) return undefined;
  const [h, p, m, c] = parts.map((b) => JSON.parse(b.toString('utf8')));
  return { header: h, parent_header: p ?? {}, metadata: m ?? {}, content: c ?? {} };
}
