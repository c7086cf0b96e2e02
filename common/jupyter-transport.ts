/**
 * What carries Jupyter messages between a client and one kernel. The client (common/jupyter-client.ts) routes
 * messages to request futures and knows nothing of how they travel: ZeroMQ sockets with HMAC signing for a
 * kernel we launch (common/jupyter-zmq.ts), or, later, a Jupyter Server's websocket as a second transport.
 */
import type { Message, OutgoingMessage } from './jupyter-wire';

export type SendChannel = 'shell' | 'control' | 'stdin';
export type ClientChannel = SendChannel | 'iopub';

export interface TransportEvents {
  /** A message from the kernel, already verified and decoded. */
  message(channel: ClientChannel, msg: Message): void;
  /** The transport stopped delivering (closed by us, or lost); `error` says why when it was not asked for. */
  closed?(error?: Error): void;
}

export interface KernelTransport {
  /** Starts delivering messages to `events`. Called once. */
  connect(events: TransportEvents): void;
  /** Sends one message; resolves once handed to the transport. */
  send(channel: SendChannel, msg: OutgoingMessage): Promise<void>;
  close(): void;
}
