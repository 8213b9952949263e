/**
 * permessage-deflate parameters (RFC 7692 section 7.1): the options a user gives, and
 * the parsing and validation of the parameters of an offer or a response.
 */
import { LocalProtocolError } from '../errors';
import { defaultInflateBackend, loadZlibSync, type InflateBackendName } from './zlib-backend';

/**
 * How much zlib memory permessage-deflate may hold per connection (the option
 * `memory`). Each names defaults for the window sizes, `memLevel` and context takeover;
 * options given explicitly win. README.md ("Compression and memory") has the measured
 * cost of each.
 *
 * - `'medium'` (the default): 4 KiB windows (12 bits) and `memLevel` 5, one compressor
 *   and one decompressor per connection, each made at its first compressed message. A
 *   server announces `server_max_window_bits=12` and asks a client that offered
 *   `client_max_window_bits` for 12 (one that did not keeps 15); a client compresses
 *   with a 12-bit window without announcing it (a smaller window is always allowed).
 *   The defaults of python-websockets.
 * - `'high'`: zlib's defaults, 32 KiB windows and `memLevel` 8, one context each way
 *   per connection, as `ws` does: the best compression ratio, about five times the
 *   memory.
 * - `'low'`: no compressor per connection. Each message is compressed alone by one
 *   compressor shared by the whole process, after replaying into it the last 1 KiB this
 *   connection sent (the peer's decompressor still holds those bytes when context
 *   takeover is on), which keeps most of the gain of context takeover. A server also
 *   sends `client_no_context_takeover`, so its decompressor is taken from a small pool
 *   when a compressed message starts and returned when it ends. Costs CPU: each
 *   compressed message also compresses that 1 KiB again.
 */
export type DeflateMemoryMode = 'low' | 'medium' | 'high';

/** The defaults that a `DeflateMemoryMode` stands for. */
interface MemoryPreset {
  /** Our compressor's window when the peer allows more. */
  windowBits: number;
  /** Server: the client's window asked for when the client offered `client_max_window_bits`. */
  clientWindowBits: number;
  memLevel: number;
  /** One shared compressor with a replayed history instead of one per connection. */
  shared: boolean;
}

const PRESETS: Readonly<Record<DeflateMemoryMode, MemoryPreset>> = {
  high: { windowBits: 15, clientWindowBits: 15, memLevel: 8, shared: false },
  medium: { windowBits: 12, clientWindowBits: 12, memLevel: 5, shared: false },
  low: { windowBits: 12, clientWindowBits: 12, memLevel: 5, shared: true },
};

/** Options of `PerMessageDeflate`. */
export interface PerMessageDeflateOptions {
  /**
   * How much memory compression may hold per connection: `'medium'`, `'high'` or `'low'`
   * (see `DeflateMemoryMode`). The options below override its defaults.
   *
   * @defaultValue `'medium'`
   */
  memory?: DeflateMemoryMode;
  /**
   * Server: always send `server_no_context_takeover` (reset our compressor after each
   * message). Client: ask the server for it (and fail if the server ignores it).
   *
   * @defaultValue `false`
   */
  serverNoContextTakeover?: boolean;
  /**
   * Client: offer `client_no_context_takeover` and reset our compressor after each
   * message. Server: always send `client_no_context_takeover` (the client resets its
   * compressor, so we can release our decompressor between messages).
   *
   * @defaultValue `false` (server with `memory: 'low'`: `true`)
   */
  clientNoContextTakeover?: boolean;
  /**
   * The largest LZ77 window the server's compressor may use, 9 to 15. Client: offered
   * as `server_max_window_bits`. Server: our compressor uses at most this (and what the
   * client asked for), announced as `server_max_window_bits` when under 15.
   *
   * @defaultValue client: not offered; server: `12` (`memory: 'high'`: `15`)
   */
  serverMaxWindowBits?: number;
  /**
   * Client: `true` offers `client_max_window_bits` without a value (the
   * server may limit our window), a number 9 to 15 offers it with that value (our
   * compressor uses at most that), `false` does not offer it. Server: a number limits
   * the client's window (an offer without `client_max_window_bits` is then declined,
   * since we could not bound the client's window); `true` asks for the `memory` mode's
   * window (12, or 15 with `'high'`) when the client offered the parameter, and
   * accepts 15 when it did not; `false` leaves the client's window alone.
   *
   * @defaultValue `true`
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib compression level, -1 (zlib's default, 6) to 9. @defaultValue `-1` */
  level?: number;
  /**
   * zlib memLevel of the compressor, 1 to 9 (memory against speed).
   *
   * @defaultValue `5` (`memory: 'high'`: `8`)
   */
  memLevel?: number;
  /**
   * Single-frame messages shorter than this many bytes are sent uncompressed unless
   * the message asks for compression (`compress: true`). The same default as `ws`.
   *
   * @defaultValue `1024` (`DEFAULT_THRESHOLD`)
   */
  threshold?: number;
  /**
   * The inflate backend: `'node:zlib'` (the default, `PerMessageDeflate.inflateBackend`;
   * faster on small messages and it frees its memory) or `'zlib-sync'` (the optional
   * native addon; asking for it when it cannot be loaded throws `ERR_INVALID_OPTION`).
   *
   * @defaultValue `'node:zlib'`
   */
  inflateBackend?: InflateBackendName;
}

/** The default `threshold`: 1024 bytes. */
export const DEFAULT_THRESHOLD = 1024;

/** Validated options with defaults applied. */
export interface ResolvedOptions {
  memory: DeflateMemoryMode;
  serverNoContextTakeover: boolean;
  /** As given (null: not given, the `memory` mode decides). */
  clientNoContextTakeover: boolean | null;
  /** As given (null: not given). */
  serverMaxWindowBits: number | null;
  clientMaxWindowBits: number | boolean;
  level: number;
  memLevel: number;
  threshold: number;
  /** The `memory` mode's defaults. */
  preset: MemoryPreset;
}

/** Check the options (LocalProtocolError 'ERR_INVALID_OPTION') and apply defaults. */
export function resolveOptions(options: PerMessageDeflateOptions): ResolvedOptions {
  const bool = <T>(name: string, value: unknown, fallback: T): boolean | T => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') invalid(`${name} must be a boolean`);
    return value;
  };
  const integer = (name: string, value: unknown, min: number, max: number, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      invalid(`${name} must be an integer from ${min} to ${max}`);
    }
    return value;
  };
  const clientBits = options.clientMaxWindowBits;
  const memory = options.memory ?? 'medium';
  if (!Object.hasOwn(PRESETS, memory)) invalid(`memory must be 'low', 'medium' or 'high'`);
  const preset = PRESETS[memory];
  return {
    memory,
    preset,
    serverNoContextTakeover: bool('serverNoContextTakeover', options.serverNoContextTakeover, false),
    clientNoContextTakeover: bool('clientNoContextTakeover', options.clientNoContextTakeover, null),
    serverMaxWindowBits:
      options.serverMaxWindowBits === undefined
        ? null
        : integer('serverMaxWindowBits', options.serverMaxWindowBits, 9, 15, 15),
    clientMaxWindowBits:
      clientBits === undefined || typeof clientBits === 'boolean'
        ? (clientBits ?? true)
        : integer('clientMaxWindowBits', clientBits, 9, 15, 15),
    level: integer('level', options.level, -1, 9, -1),
    memLevel: integer('memLevel', options.memLevel, 1, 9, preset.memLevel),
    threshold: integer('threshold', options.threshold, 0, Number.MAX_SAFE_INTEGER, DEFAULT_THRESHOLD),
  };
}

function invalid(message: string): never {
  throw new LocalProtocolError(`permessage-deflate: ${message}`, 'ERR_INVALID_OPTION');
}

/** The parameters of one offer or response, checked. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** The value, or null when absent. */
  serverMaxWindowBits: number | null;
  /** The value, `true` when present without a value (offers only), null when absent. */
  clientMaxWindowBits: number | true | null;
}

const NAMES = [
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
] as const;

/**
 * RFC 7692 7.1.2.1 / 7.1.2.2: a window size is a decimal 8 to 15 without leading
 * zeros. A quoted-string form (RFC 6455 9.1) is unquoted first.
 */
function windowBits(value: string): number | null {
  const bare = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  return /^(?:[89]|1[0-5])$/.test(bare) ? Number(bare) : null;
}

/**
 * Parse the parameters of an offer (`response` false) or a response. Returns the
 * reason when they are invalid (RFC 7692 7.1: an unknown parameter, a parameter twice,
 * an invalid value; in a response `client_max_window_bits` needs a value).
 */
export function parseParams(
  params: ReadonlyArray<readonly [string, string | null]>,
  response: boolean,
): DeflateParams | string {
  const result: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: null,
    clientMaxWindowBits: null,
  };
  const seen = new Set<string>();
  for (const [rawName, value] of params) {
    // Parameter names compare case-insensitively, like the extension token.
    const name = rawName.toLowerCase();
    if (!(NAMES as readonly string[]).includes(name)) return `unknown parameter ${name}`;
    if (seen.has(name)) return `parameter ${name} appears twice`;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // RFC 7692 7.1.1.1 / 7.1.1.2: these parameters have no value.
        if (value !== null) return `${name} takes no value`;
        if (name === 'server_no_context_takeover') result.serverNoContextTakeover = true;
        else result.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        // RFC 7692 7.1.2.1: the parameter always has a value.
        const bits = value === null ? null : windowBits(value);
        if (bits === null) return `invalid ${name}${value === null ? ' (no value)' : `=${value}`}`;
        result.serverMaxWindowBits = bits;
        break;
      }
      default: {
        // RFC 7692 7.1.2.2: optional value in an offer, required in a response.
        if (value === null) {
          if (response) return `${name} needs a value in a response`;
          result.clientMaxWindowBits = true;
          break;
        }
        const bits = windowBits(value);
        if (bits === null) return `invalid ${name}=${value}`;
        result.clientMaxWindowBits = bits;
      }
    }
  }
  return result;
}

/** Serialize response or offer parameters (`true` when there are none). */
export function formatParams(params: readonly string[]): string | true {
  return params.length === 0 ? true : params.join('; ');
}

/** The configuration both ends agreed on. */
export interface NegotiatedDeflate {
  /** The server resets its compressor after each message. */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message. */
  readonly clientNoContextTakeover: boolean;
  /** The server's LZ77 window, 8 to 15 bits. */
  readonly serverMaxWindowBits: number;
  /** The client's LZ77 window, 8 to 15 bits. */
  readonly clientMaxWindowBits: number;
}

/** The inflate backend to use: the one asked for (checked), else the default. */
export function resolveInflateBackend(name: InflateBackendName | undefined): InflateBackendName {
  const backend = name ?? defaultInflateBackend();
  if (backend !== 'node:zlib' && backend !== 'zlib-sync') {
    throw new LocalProtocolError(`permessage-deflate: unknown inflateBackend ${String(backend)}`, 'ERR_INVALID_OPTION');
  }
  if (backend === 'zlib-sync' && loadZlibSync() === null) {
    throw new LocalProtocolError('permessage-deflate: zlib-sync is not installed', 'ERR_INVALID_OPTION');
  }
  return backend;
}
