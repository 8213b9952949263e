/**
 * The size limits of a connection (`maxMessageSize`, `maxFrameSize`), checked once and
 * kept as one frozen record that connections with the same limits share: a server holds
 * many idle connections, and each would otherwise carry three numbers of its own.
 */
import { LocalProtocolError } from '../errors';

/** Size limits of a connection. */
export interface FrameLimits {
  /**
   * Largest message accepted, in bytes after decompression. Larger ones close the
   * connection with 1009.
   *
   * @defaultValue `67108864` (64 MiB, `DEFAULT_MAX_MESSAGE_SIZE`)
   */
  maxMessageSize?: number;
  /**
   * Largest frame payload accepted, in bytes as on the wire. Larger ones close the
   * connection with 1009 before any of the payload is buffered.
   *
   * @defaultValue `maxMessageSize`
   */
  maxFrameSize?: number;
}

/** The default `maxMessageSize`: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** Checked size limits; shared, never changed. */
export interface SizeLimits {
  /** The largest message, in bytes after decompression. */
  readonly message: number;
  /** The largest frame payload, in bytes as on the wire. */
  readonly frame: number;
  /** The largest frame that passes both limits (a whole one-frame message). */
  readonly whole: number;
}

// Records by "message/frame". Bounded: a process that makes connections with ever new
// limits gets a record of their own for each past this many.
const SHARED = new Map<string, SizeLimits>();
const SHARED_MAX = 64;

/**
 * The limits of `options`, with defaults filled in. Throws `LocalProtocolError`
 * (`ERR_INVALID_OPTION`) unless each is a non-negative safe integer.
 */
export function sizeLimits(options: FrameLimits): SizeLimits {
  const message = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const frame = options.maxFrameSize ?? message;
  for (const [name, value] of [
    ['maxMessageSize', message],
    ['maxFrameSize', frame],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new LocalProtocolError(`${name} must be a non-negative safe integer`, 'ERR_INVALID_OPTION');
    }
  }
  const key = `${message}/${frame}`;
  let limits = SHARED.get(key);
  if (limits === undefined) {
    limits = Object.freeze({ message, frame, whole: Math.min(message, frame) });
    if (SHARED.size < SHARED_MAX) SHARED.set(key, limits);
  }
  return limits;
}
