/**
 * The kernel's view of the Jupyter wire protocol: the shared implementation in common/jupyter-wire.ts
 * (the extension's client uses the same one). Socket handling stays in ./sockets.ts.
 */
export {
  decode,
  encode,
  newHeader,
  PROTOCOL_VERSION,
  Signer,
  SignatureHistory,
  WireError,
  type Header,
  type Message,
  type OutgoingMessage,
} from '../../common/jupyter-wire';
