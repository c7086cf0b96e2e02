/**
 * The one error type of the codecs room. Every failure a user can cause (a bad file, a wrong token, a
 * package whose graphs break the contract) becomes a MediaError whose message says what was read, what is
 * wrong and why, so the kernel can print it as-is. `code` lets callers branch without parsing messages.
 */
export type MediaErrorCode =
  | 'empty' // nothing to read: 0 bytes, 0 samples
  | 'unreadable' // bytes are corrupt or truncated
  | 'unsupported-format' // readable container, but not one we accept (or the wrong kind of media)
  | 'too-large' // decompression bomb, absurd sizes
  | 'invalid-samples' // NaN/Inf audio, audio too short
  | 'invalid-tokens' // raw token input that is not a valid span
  | 'model' // a component graph is missing, breaks its contract or fails to run
  | 'aborted';

export class MediaError extends Error {
  override readonly name = 'MediaError';
  constructor(
    message: string,
    readonly code: MediaErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws the standard abort error when `signal` is aborted (checked between loop steps). */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new MediaError(`${what} was aborted`, 'aborted');
}
