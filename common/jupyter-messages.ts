/**
 * Jupyter messages typed per msg_type (protocol 5.3), shaped after `KernelMessage` in @jupyterlab/services:
 * one content type per msg_type, a request → reply table, and a guard that narrows a received message by its
 * type. Written here rather than imported because our messages carry routing frames and Buffer payloads
 * (common/jupyter-wire.ts), and our MIME bundles hold our own output types. Types only.
 */
import type { Header, Message } from './jupyter-wire';

/** A MIME bundle: mime type → data (JSON-able). */
export type MimeBundle = Record<string, unknown>;

export type ExecutionState = 'busy' | 'idle' | 'starting';

export interface LanguageInfo {
  name: string;
  version?: string;
  mimetype?: string;
  file_extension?: string;
  pygments_lexer?: string;
  codemirror_mode?: string | Record<string, unknown>;
  [k: string]: unknown;
}

export interface ExecuteRequestContent {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, unknown>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

export interface ExecuteReplyContent {
  status: 'ok' | 'error' | 'aborted' | 'abort';
  execution_count?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  user_expressions?: Record<string, unknown>;
  payload?: unknown[];
}

export interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

export interface HistoryRequestContent {
  hist_access_type: 'range' | 'tail' | 'search';
  output?: boolean;
  raw?: boolean;
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** msg_type → content. */
export interface ContentMap {
  kernel_info_request: Record<string, never>;
  kernel_info_reply: {
    status: 'ok';
    protocol_version: string;
    implementation: string;
    implementation_version: string;
    language_info: LanguageInfo;
    banner: string;
    help_links?: { text: string; url: string }[];
    debugger?: boolean;
  };
  execute_request: ExecuteRequestContent;
  execute_reply: ExecuteReplyContent;
  complete_request: { code: string; cursor_pos: number };
  complete_reply: {
    status: 'ok' | 'error';
    matches: string[];
    cursor_start: number;
    cursor_end: number;
    metadata: Record<string, unknown>;
  };
  inspect_request: { code: string; cursor_pos: number; detail_level?: 0 | 1 };
  inspect_reply: { status: 'ok' | 'error'; found: boolean; data: MimeBundle; metadata: Record<string, unknown> };
  is_complete_request: { code: string };
  is_complete_reply: { status: 'complete' | 'incomplete' | 'invalid' | 'unknown'; indent?: string };
  history_request: HistoryRequestContent;
  history_reply: { status: 'ok'; history: unknown[] };
  comm_info_request: { target_name?: string };
  comm_info_reply: { status: 'ok'; comms: Record<string, { target_name: string }> };
  comm_open: { comm_id: string; target_name: string; data: Record<string, unknown> };
  comm_msg: { comm_id: string; data: Record<string, unknown> };
  comm_close: { comm_id: string; data: Record<string, unknown> };
  interrupt_request: Record<string, never>;
  interrupt_reply: { status: 'ok' | 'error' };
  shutdown_request: { restart: boolean };
  shutdown_reply: { status: 'ok' | 'error'; restart: boolean };
  input_request: { prompt: string; password: boolean };
  input_reply: { value: string };
  status: { execution_state: ExecutionState };
  stream: { name: 'stdout' | 'stderr'; text: string };
  display_data: DisplayContent;
  update_display_data: DisplayContent;
  execute_input: { code: string; execution_count: number };
  execute_result: DisplayContent & { execution_count: number };
  error: { ename: string; evalue: string; traceback: string[] };
  clear_output: { wait: boolean };
}

export type MsgType = keyof ContentMap;

/** The requests a client sends on shell or control, and the reply type each one gets. */
export interface ReplyMap {
  kernel_info_request: 'kernel_info_reply';
  execute_request: 'execute_reply';
  complete_request: 'complete_reply';
  inspect_request: 'inspect_reply';
  is_complete_request: 'is_complete_reply';
  history_request: 'history_reply';
  comm_info_request: 'comm_info_reply';
  interrupt_request: 'interrupt_reply';
  shutdown_request: 'shutdown_reply';
}

export type RequestType = keyof ReplyMap;

/** A message whose msg_type is T, with T's content. */
export type TypedMessage<T extends MsgType> = Message<ContentMap[T]> & { header: Header & { msg_type: T } };

/** The reply to request type R. */
export type ReplyTo<R extends RequestType> = TypedMessage<ReplyMap[R]>;

/** Narrows a received message by msg_type (content is trusted to follow the protocol for that type). */
export function isMessageType<T extends MsgType>(msg: Message<unknown>, type: T): msg is TypedMessage<T> {
  return msg.header.msg_type === type;
}

/** The content of a message received as msg_type T (for a sender's own, already checked, message). */
export function contentOf<T extends MsgType>(msg: Message<unknown>, _type: T): Partial<ContentMap[T]> {
  return (msg.content ?? {}) as Partial<ContentMap[T]>;
}

/**
 * Content received from a peer, before it is checked: the fields msg_type T's content may have, each of
 * unknown type. A handler checks each field it reads (typeof, clamping) and so arrives at ContentMap[T].
 */
export type Untrusted<C> = { readonly [K in keyof C]?: unknown };

/** A received message's content as Untrusted<ContentMap[T]>; a non-object content reads as empty. */
export function receivedContent<T extends MsgType>(msg: Message<unknown>, _type: T): Untrusted<ContentMap[T]> {
  const c = msg.content;
  return typeof c === 'object' && c !== null ? (c as Untrusted<ContentMap[T]>) : {};
}
