/**
 * Random access to input bytes, so media readers can look at a header before deciding how much to read.
 * A path-backed source never loads more than the reader asks for: a 2-hour WAV is parsed from its header
 * and only the kept prefix is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MediaError } from './errors';
import { basename } from 'node:path';

export interface ByteSource {
  /** For messages: a file name or "input". */
  readonly name: string;
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the source). */
  read(offset: number, length: number): Uint8Array;
}

/** What the public API accepts: bytes already in memory (optionally named for messages), or a file to read lazily. */
export type MediaInput = Uint8Array | { bytes: Uint8Array; name: string } | { path: string };

/** Name used in messages for anonymous bytes. */
export const ANONYMOUS = 'the input';

export function bytesSource(bytes: Uint8Array, name = ANONYMOUS): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.byteLength, offset + length)),
  };
}

/** What a non-regular file is, for messages; undefined for a regular file. */
export function notRegularFile(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Runs `fn` with a source over the file at `path`, closing the descriptor afterwards. Only regular files are read:
 * a FIFO, socket or device could block a read forever (a FIFO's open blocks until a writer comes). The file is
 * opened non-blocking and checked on its descriptor, so a file swapped after a check cannot slip through.
 */
export async function withSource<T>(input: MediaInput, fn: (src: ByteSource) => Promise<T> | T): Promise<T> {
  if (input instanceof Uint8Array) return fn(bytesSource(input));
  if ('bytes' in input) return fn(bytesSource(input.bytes, input.name));
  const fd = openSync(input.path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    const what = notRegularFile(st);
    if (what)
      throw new MediaError(
        `${basename(input.path)} is ${what}, not a regular file; only files can be read`,
        'unreadable',
      );
    const size = st.size;
    const src: ByteSource = {
      name: basename(input.path),
      size,
      read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = new Uint8Array(n);
        let done = 0;
        while (done < n) {
          const got = readSync(fd, buf, done, n - done, offset + done);
          if (got === 0) break;
          done += got;
        }
        return buf.subarray(0, done);
      },
    };
    return await fn(src);
  } finally {
    closeSync(fd);
  }
}

/** A short description of what a file looks like from its magic bytes, for "wrong format" errors. */
export function sniff(head: Uint8Array): string | undefined {
  const ascii = (a: number, b: number) => String.fromCharCode(...head.subarray(a, b));
  if (head[0] === 0x89 && ascii(1, 4) === 'PNG') return 'a PNG image';
  if (head[0] === 0xff && head[1] === 0xd8) return 'a JPEG image';
  if (ascii(0, 4) === 'GIF8') return 'a GIF image';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'a WebP image';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'a TIFF image';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'a WAV file';
  if (ascii(0, 4) === 'fLaC') return 'a FLAC file';
  if (ascii(0, 4) === 'OggS') return 'an Ogg file';
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0)) return 'an MP3 file';
  if (ascii(4, 8) === 'ftyp') return 'an MP4/M4A/HEIF file';
  if (ascii(0, 5) === '%PDF-') return 'a PDF document';
  return undefined;
}
