/**
 * What the controller needs of one notebook's kernel, wherever it runs: a child process we start
 * (kernel/session.ts, ZeroMQ) or a kernel on a Jupyter Server (remote/remote-session.ts, WebSocket). Both drive
 * the same JupyterClient, so streaming, the inspector's outputs, interrupt and restart behave the same.
 */
import type { ContentMap, ExecuteReplyContent } from '../../common/jupyter-messages';
import type { Message } from '../../common/jupyter-wire';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines the kernel wrote to stderr (local), or why the remote kernel was lost. */
  stderr: string;
  /** True when we asked it to stop. */
  expected: boolean;
}

/** The model a kernel has loaded, from its execute_reply metadata (a `%model` cell changes it). */
export interface LoadedModel {
  name: string;
  dir: string;
  executionProvider: string;
}

export interface NotebookKernelSession {
  readonly running: boolean;
  /** The model the kernel has loaded (after the first cell), when the kernel says (ours does). */
  loadedModel?: LoadedModel;
  kernelInfo?: ContentMap['kernel_info_reply'];
  onExit(fn: (e: ExitInfo) => void): void;
  start(): Promise<void>;
  /** Execute code; `onIopub` sees every iopub message of this request (but its idle status) until it is done. */
  execute(code: string, metadata: Record<string, unknown>, onIopub: (m: Message) => void): Promise<ExecuteReplyContent>;
  complete(code: string, cursorPos: number): Promise<ContentMap['complete_reply'] | undefined>;
  inspect(code: string, cursorPos: number): Promise<string | undefined>;
  interrupt(): void;
  shutdown(): Promise<void>;
}
