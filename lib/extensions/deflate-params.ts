/**
 * permessage-deflate parameters (RFC 7692 section 7.1): the options a user gives, and
 * the parsing and validation of the parameters of an offer or a response.
 */
import { LocalProtocolError } from '../errors';
import { defaultInflateBackend, loadZlibSync, type InflateBackendName } from './zlib-backend';

/** Options of `PerMessageDeflate`. */
export interface PerMessageDeflateOptions {
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
   * @defaultValue `false`
   */
  clientNoContextTakeover?: boolean;
  /**
   * The largest LZ77 window the server's compressor may use, 9 to 15. Client: offered
   * as `server_max_window_bits`. Server: our compressor uses at most this (and what the
   * client asked for).
   *
   * @defaultValue `15` (not limited)
   */
  serverMaxWindowBits?: number;
  /**
   * Client: `true` offers `client_max_window_bits` without a value (the
   * server may limit our window), a number 9 to 15 offers it with that value (our
   * compressor uses at most that), `false` does not offer it. Server: a number limits
   * the client's window (an offer without `client_max_window_bits` is then declined,
   * since we could not bound the client's window); booleans mean no limit.
   *
   * @defaultValue `true`
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib compression level, -1 (zlib's default, 6) to 9. @defaultValue `-1` */
  level?: number;
  /** zlib memLevel of the compressor, 1 to 9 (memory against speed). @defaultValue `8` */
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
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  clientMaxWindowBits: number | boolean;
  level: number;
  memLevel: number;
  threshold: number;
}

/** Check the options (LocalProtocolError 'ERR_INVALID_OPTION') and apply defaults. */
export function resolveOptions(options: PerMessageDeflateOptions): ResolvedOptions {
  const bool = (name: string, value: unknown): boolean => {
    if (value === undefined) return false;
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
  return {
    serverNoContextTakeover: bool('serverNoContextTakeover', options.serverNoContextTakeover),
    clientNoContextTakeover: bool('clientNoContextTakeover', options.clientNoContextTakeover),
    serverMaxWindowBits:
      options.serverMaxWindowBits === undefined
        ? null
        : integer('serverMaxWindowBits', options.serverMaxWindowBits, 9, 15, 15),
    clientMaxWindowBits:
      clientBits === undefined || typeof clientBits === 'boolean'
        ? (clientBits ?? true)
        : integer('clientMaxWindowBits', clientBits, 9, 15, 15),
    level: integer('level', options.level, -1, 9, -1),
    memLevel: integer('memLevel', options.memLevel, 1, 9, 8),
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
