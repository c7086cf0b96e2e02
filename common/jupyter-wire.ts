/**
 * Jupyter messaging protocol 5.3 on the wire, shared by the kernel (kernel/jupyter/sockets.ts) and the
 * client (common/jupyter-zmq.ts): frames ⇄ messages, HMAC signing and verification,
 * headers. Pure: node:crypto only, no sockets, so the extension host can bundle it without the engine.
 * Frames: [routing ids or iopub topic…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…].
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

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

export interface Message<C = Record<string, unknown>> {
  /** Routing identities (ROUTER sockets) or the iopub topic: everything before the delimiter. */
  idents: Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** What encode needs: a message whose routing frames and binary buffers may be left out. */
export type OutgoingMessage = Omit<Message<unknown>, 'idents' | 'buffers'> & { idents?: Buffer[]; buffers?: Buffer[] };

export class Signer {
  constructor(
    private readonly key: string,
    private readonly scheme = 'hmac-sha256',
  ) {
    if (key && !/^hmac-(sha256|sha512|sha1|md5)$/.test(scheme))
      throw new Error(`unsupported signature_scheme ${scheme}`);
  }

  sign(parts: Buffer[]): string {
    // An empty key means signing is off (allowed by the spec).
    if (!this.key) return '';
    const h = createHmac(this.scheme.slice(5), this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  verify(signature: Buffer, parts: Buffer[]): boolean {
    if (!this.key) return true;
    const expected = Buffer.from(this.sign(parts), 'latin1');
    // timingSafeEqual throws on length mismatch, so compare lengths first (not secret).
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

export class WireError extends Error {}

/**
 * Signatures of recently accepted messages, so that a captured message sent again (same bytes, same valid
 * signature) is dropped rather than acted on twice: a replayed execute_request would run its cell again. Bounded
 * like ipykernel's session digest history: when full, the oldest tenth is forgotten.
 */
export class SignatureHistory {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 1 << 16) {}

  /** true when `signature` was seen before; otherwise remembers it. Unsigned messages (no key) are never replays. */
  isReplay(signature: Buffer): boolean {
    if (!signature.length) return false;
    const s = signature.toString('latin1');
    if (this.seen.has(s)) return true;
    if (this.seen.size >= this.max) {
      let drop = Math.max(1, Math.floor(this.max / 10));
      for (const old of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(old);
      }
    }
    this.seen.add(s);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * Parse and verify frames. Throws WireError on a malformed message, a bad signature, or (given a history) a
 * signature already seen.
 */
export function decode(frames: Buffer[], signer: Signer, history?: SignatureHistory): Message {
  const d = frames.findIndex((f) => f.length === DELIM.length && f.toString('latin1') === DELIM);
  if (d < 0 || frames.length < d + 6) throw new WireError('no <IDS|MSG> delimiter or too few frames');
  const [sig, header, parent, metadata, content] = frames.slice(d + 1, d + 6);
  if (!signer.verify(sig, [header, parent, metadata, content])) throw new WireError('bad HMAC signature');
  if (history?.isReplay(sig)) throw new WireError('duplicate signature (a replayed message)');
  const parse = (b: Buffer, what: string) => {
    try {
      return JSON.parse(b.toString('utf8'));
    } catch {
      throw new WireError(`${what} is not JSON`);
    }
  };
  // Every part is a JSON object (null reads as {}): handlers index into them, and `false` or `[1]` is no message.
  const object = (b: Buffer, what: string) => {
    const v = parse(b, what) ?? {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new WireError(`${what} is not a JSON object`);
    return v as Record<string, unknown>;
  };
  const h = object(header, 'header') as unknown as Header;
  if (typeof h.msg_type !== 'string') throw new WireError('header without msg_type');
  return {
    idents: frames.slice(0, d),
    header: h,
    parent_header: object(parent, 'parent_header') as Message['parent_header'],
    metadata: object(metadata, 'metadata'),
    content: object(content, 'content'),
    buffers: frames.slice(d + 6),
  };
}

export function encode(msg: OutgoingMessage, signer: Signer): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) =>
    Buffer.from(JSON.stringify(p), 'utf8'),
  );
  return [...(msg.idents ?? []), Buffer.from(DELIM), Buffer.from(signer.sign(parts)), ...parts, ...(msg.buffers ?? [])];
}

export function newHeader(msg_type: string, session: string, username = 'anygpt'): Header {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type,
    version: PROTOCOL_VERSION,
  };
}
