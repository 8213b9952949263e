/**
 * The differential scenarios: each names the server's behaviour (server.ts plays it on
 * `/s/<name>`) and the client's steps (runner.ts plays them, in Chromium with the
 * browser's `WebSocket` and in Node with ours). Both traces must be equal, except for
 * the intended differences a scenario lists (each with its reason and, where it is
 * known, the value each side must show).
 *
 * Everything here is plain data: it crosses into the browser as JSON.
 */

/** Data for `send()`. */
export type SendData =
  | { kind: 'text'; text: string }
  | { kind: 'repeat'; text: string; count: number }
  | { kind: 'buffer'; hex: string }
  /** An ArrayBuffer of `size` bytes of a fixed pattern. */
  | { kind: 'pattern'; size: number }
  /** `new Uint8Array(hex).subarray(start, end)`: a view that does not start at 0. */
  | { kind: 'u8'; hex: string; start: number; end: number }
  | { kind: 'dataview'; hex: string; offset: number; length: number }
  /** A Blob of parts: hex bytes, or `text:...` strings. */
  | { kind: 'blob'; parts: string[]; type?: string }
  /** A typed array other than Uint8Array over these bytes (e.g. Uint16Array). */
  | { kind: 'typed'; type: 'Uint16Array' | 'Int32Array' | 'Float64Array'; hex: string }
  /** Any other value (WebIDL turns it into a string); '<undefined>' stands for undefined. */
  | { kind: 'value'; value: unknown };

export type EventName = 'open' | 'message' | 'error' | 'close';

/** One client step. Waiting steps (`wait`, `sleep`) record nothing unless they time out. */
export type Step =
  /** `new WebSocket(url, protocols)`; url is a template ({base} = ws://host:port, {host}, {name}); listen: false skips the default listener. */
  | { do: 'new'; url?: string; protocols?: string | string[] | { protocols: string[] }; listen?: false }
  | { do: 'binaryType'; value: string }
  | { do: 'send'; data: SendData }
  | { do: 'read'; props: string[] }
  /** `close(...args)`; '<undefined>' stands for undefined (JSON has none). */
  | { do: 'close'; args: unknown[] }
  /** `onX = recorder` (via 'prop') or `addEventListener(X, recorder)`; value: 'record', or a non-function to assign. */
  | {
      do: 'handler';
      event: EventName;
      via: 'prop' | 'listener';
      tag: string;
      value: 'record' | null | string;
      full?: boolean;
    }
  | { do: 'readHandlers' }
  | { do: 'constants' }
  /** Run synchronous steps inside the listener of the nth `event` (added now, after the default one). */
  | { do: 'inHandler'; event: EventName; nth?: number; steps: Step[] }
  | { do: 'wait'; for: 'open' }
  | { do: 'wait'; for: 'close' }
  | { do: 'wait'; for: 'messages'; n: number }
  | { do: 'sleep'; ms: number };

/** A frame the raw server writes (unmasked unless `mask`). */
export interface RawFrame {
  op: number;
  text?: string;
  hex?: string;
  /** A payload of `size` bytes 'x'. */
  size?: number;
  fin?: false;
  /** Encode the length in 2 or 8 extra bytes even when it is short (RFC 6455 5.2 asks for the minimum). */
  lengthBytes?: 2 | 8;
  /** Compress the payload with DEFLATE (RFC 7692 7.2.1: the trailing 00 00 ff ff removed) and set RSV1. */
  deflate?: true;
  /** RSV bits as a number 0-7 (4 = RSV1). */
  rsv?: number;
  mask?: true;
}

/** What the server does on `/s/<name>`. */
export type ServerBehaviour =
  /** Our server: echo every message; `pick` the subprotocol ('first' offered, a name if offered, or none). */
  | { kind: 'echo'; deflate?: boolean; pick?: string }
  /** Our server: close with `code` (1005: an empty close body) when open, or on the first message. */
  | { kind: 'close'; code: number; reason?: string; after?: 'open' | 'message' }
  /** Our server: ping with this payload (hex); on the pong, send the text 'got pong'. */
  | { kind: 'ping'; hex: string }
  /** Our server: send 'm1', 'm2', ... every `every` ms until the connection closes. */
  | { kind: 'flood'; every: number }
  /** Refuse the handshake with this status and body. */
  | { kind: 'reject'; status: number; body?: string }
  /**
   * Hand-made: a 101 (with a bad Sec-WebSocket-Accept if asked, and these protocol and
   * extensions headers), then `frames` (in one TCP write, or one write each with `split`),
   * then end the TCP connection, reset it, or hold it (answering a close with a close).
   */
  | {
      kind: 'raw';
      accept?: 'bad';
      protocol?: string;
      extensions?: string;
      frames?: RawFrame[];
      split?: true;
      then?: 'end' | 'rst' | 'hold';
    };

/**
 * An intended difference: at `path` (dot-separated keys of `{ trace, server }`, `*` for
 * any one key) the sides may differ; where `browser` / `node` is given, that side must
 * show that value (objects: the keys named must be there and equal, others are free;
 * arrays: the same length; strings may use {base} and {host}).
 */
export interface Difference {
  path: string;
  reason: string;
  browser?: unknown;
  node?: unknown;
}

export interface Scenario {
  name: string;
  /** What the scenario pins, for the test's title. */
  title: string;
  server: ServerBehaviour | null;
  steps: Step[];
  differences?: Difference[];
}

/** Differences in every scenario. */
export const COMMON_DIFFERENCES: Difference[] = [
  {
    path: 'trace.*.isTrusted',
    reason: 'only the user agent dispatches trusted events: isTrusted is true in the browser, false in Node',
    browser: true,
    node: false,
  },
];

/** A failing client's close frame: the status code is the protocol's, the reason text is the user agent's. */
const FAIL_REASON: Difference = {
  path: 'server.*.received.*.reason',
  reason: "the reason text of a failing client's close frame is the user agent's own (RFC 6455 7.1.7)",
};
/** Invalid UTF-8: the status code of the failing client's close frame. */
const UTF8_FAIL_CODE: Difference = {
  path: 'server.*.received.*.code',
  reason: 'RFC 6455 7.4.1: 1007 is the status for a text message that is not UTF-8; Chromium sends 1002',
  browser: 1002,
  node: 1007,
};

// ---------------------------------------------------------------------------------
// Step shorthands
// ---------------------------------------------------------------------------------

const PROPS = ['readyState', 'bufferedAmount', 'protocol', 'extensions', 'url', 'binaryType'];
const open = (protocols?: string | string[]): Step[] => [
  protocols === undefined ? { do: 'new' } : { do: 'new', protocols },
  { do: 'wait', for: 'open' },
];
const read = (...props: string[]): Step => ({ do: 'read', props: props.length === 0 ? PROPS : props });
const text = (t: string): Step => ({ do: 'send', data: { kind: 'text', text: t } });
const send = (data: SendData): Step => ({ do: 'send', data });
const close = (...args: unknown[]): Step => ({ do: 'close', args });
const waitClose: Step = { do: 'wait', for: 'close' };
const messages = (n: number): Step => ({ do: 'wait', for: 'messages', n });
const binaryType = (value: string): Step => ({ do: 'binaryType', value });
/** Open, do `steps`, close cleanly, read the state. */
const session = (protocols: string | string[] | undefined, ...steps: Step[]): Step[] => [
  ...open(protocols),
  ...steps,
  close(),
  waitClose,
  read('readyState', 'bufferedAmount'),
];
/** Connect to a server that fails the connection or closes it by itself. */
const until = (...before: Step[]): Step[] => [{ do: 'new' }, ...before, waitClose, read()];

const ECHO: ServerBehaviour = { kind: 'echo' };
const HOLD = (frames: RawFrame[], extra: Partial<Extract<ServerBehaviour, { kind: 'raw' }>> = {}): ServerBehaviour => ({
  kind: 'raw',
  frames,
  then: 'hold',
  ...extra,
});
/** UTF-8 bytes of `n` bytes: 'é' (2 bytes) repeated, padded with one 'a' if odd. */
const utf8Reason = (n: number) => 'é'.repeat(Math.floor(n / 2)) + (n % 2 === 1 ? 'a' : '');
const BOM_TEXT = '\ufeffBOM kept 😀 𝄞 ✓';

// ---------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------

export const SCENARIOS: Scenario[] = [
  // --- Connecting, subprotocols, the opening handshake ---
  {
    name: 'open-plain',
    title: 'connects without subprotocols: the attributes before and after open',
    server: ECHO,
    steps: [{ do: 'new' }, read(), { do: 'wait', for: 'open' }, read(), close(), read(), waitClose, read()],
  },
  {
    name: 'constants',
    title: 'CONNECTING/OPEN/CLOSING/CLOSED on the constructor and the prototype',
    server: ECHO,
    steps: [{ do: 'constants' }, ...session(undefined)],
  },
  {
    name: 'protocol-picked',
    title: 'offers two subprotocols, the server picks the second',
    server: { kind: 'echo', pick: 'superchat' },
    steps: session(['chat', 'superchat'], read('protocol')),
  },
  {
    name: 'protocol-string',
    title: 'a single subprotocol as a string, picked',
    server: { kind: 'echo', pick: 'first' },
    steps: session('chat', read('protocol')),
  },
  {
    name: 'protocol-none-picked',
    title: 'offers a subprotocol, the server selects none: the standard fails the connection (error, close 1006)',
    server: ECHO,
    steps: [{ do: 'new', protocols: ['chat'] }, waitClose, read()],
  },
  {
    name: 'protocol-not-offered',
    title: 'the server picks a subprotocol that was not offered: error, close 1006',
    server: HOLD([], { protocol: 'other' }),
    steps: until(),
  },
  {
    name: 'protocol-unasked',
    title: 'no subprotocol offered, the server answers one: error, close 1006',
    server: HOLD([], { protocol: 'chat' }),
    steps: until(),
  },
  {
    name: 'protocol-case',
    title: 'subprotocols differing only in case are not duplicates',
    server: { kind: 'echo', pick: 'Chat' },
    steps: session(['chat', 'Chat'], read('protocol')),
  },
  {
    name: 'extension-unasked',
    title: 'the server answers an extension that was not offered: error, close 1006',
    server: HOLD([], { extensions: 'x-unknown' }),
    steps: until(),
  },
  {
    name: 'refused-403',
    title: 'handshake refused with 403: error, close 1006',
    server: { kind: 'reject', status: 403 },
    steps: until(read('readyState')),
  },
  {
    name: 'refused-404',
    title: 'handshake refused with 404: error, close 1006',
    server: { kind: 'reject', status: 404, body: 'no such socket\n' },
    steps: until(),
  },
  {
    name: 'refused-500-body',
    title: 'handshake refused with 500 and a body: error, close 1006',
    server: { kind: 'reject', status: 500, body: 'internal error: the body is ignored\n' },
    steps: until(),
  },
  {
    name: 'bad-accept',
    title: 'a wrong Sec-WebSocket-Accept: error, close 1006',
    server: HOLD([], { accept: 'bad' }),
    steps: until(),
  },

  // --- Constructor checks ---
  {
    name: 'ctor-bad-scheme',
    title: 'constructor: ftp: is a SyntaxError',
    server: null,
    steps: [{ do: 'new', url: 'ftp://{host}/s/x' }, read()],
  },
  {
    name: 'ctor-fragment',
    title: 'constructor: a fragment, even an empty one, is a SyntaxError',
    server: null,
    steps: [
      { do: 'new', url: '{base}/s/x#frag' },
      { do: 'new', url: '{base}/s/x#' },
    ],
  },
  {
    name: 'ctor-invalid-url',
    title: 'constructor: an unparsable URL is a SyntaxError',
    server: null,
    steps: [
      { do: 'new', url: 'ws://127.0.0.1:99999/' },
      { do: 'new', url: 'ws://[::1/' },
      { do: 'new', url: 'ws://' },
    ],
  },
  {
    name: 'ctor-bad-protocol',
    title: 'constructor: a subprotocol that is not a token is a SyntaxError',
    server: null,
    steps: [
      { do: 'new', protocols: ['a b'] },
      { do: 'new', protocols: [''] },
      { do: 'new', protocols: ['é'] },
      { do: 'new', protocols: 'a,b' },
      { do: 'new', protocols: ['ok', 'x/y'] },
    ],
  },
  {
    name: 'ctor-duplicate-protocol',
    title: 'constructor: a duplicated subprotocol is a SyntaxError',
    server: null,
    steps: [{ do: 'new', protocols: ['chat', 'chat'] }],
  },
  {
    name: 'ctor-options-bag',
    title: 'constructor: an options bag { protocols } is ours (as in Node); a browser reads it as one subprotocol',
    server: { kind: 'echo', pick: 'first' },
    steps: [{ do: 'new', protocols: { protocols: ['chat'] } }, { do: 'wait', for: 'open' }, read('protocol'), close()],
    differences: [
      {
        path: 'trace',
        reason:
          "the options bag is our extension, as Node's own WebSocket has it; WebIDL makes the browser stringify the object ('[object Object]' is no token)",
        browser: [
          { step: 'new', threw: 'DOMException:SyntaxError:12' },
          { step: 'read', skipped: 'no socket' },
          { step: 'close', skipped: 'no socket' },
        ],
        node: [
          { step: 'new', ok: true },
          { event: 'open' },
          { step: 'read', protocol: 'chat' },
          { step: 'close()', ok: true },
        ],
      },
      { path: 'server', reason: 'only Node connects', browser: [], node: [{ offeredProtocols: 'chat' }] },
    ],
  },
  {
    name: 'ctor-http-url',
    title: 'constructor: an http: URL becomes ws:',
    server: ECHO,
    steps: [{ do: 'new', url: 'http://{host}/s/{name}?q=1' }, read('url'), { do: 'wait', for: 'open' }, read('url')],
  },
  {
    name: 'ctor-url-normalised',
    title: 'constructor: the URL is parsed and serialised (scheme case, dot segments, query escapes)',
    server: ECHO,
    steps: [{ do: 'new', url: 'WS://{host}/s/./{name}?q=é x' }, read('url'), { do: 'wait', for: 'open' }, read('url')],
  },
  {
    name: 'ctor-relative-url',
    title: 'constructor: a relative URL resolves against the page in the browser; Node has no base',
    server: ECHO,
    steps: [{ do: 'new', url: '/s/{name}' }, read('url'), { do: 'wait', for: 'open' }, read('readyState')],
    differences: [
      {
        path: 'trace',
        reason: 'a relative URL has no base in Node (no document): the constructor throws SyntaxError',
        node: [
          { step: 'new', threw: 'DOMException:SyntaxError:12' },
          { step: 'read', skipped: 'no socket' },
          { step: 'read', skipped: 'no socket' },
        ],
      },
      { path: 'server', reason: 'in Node nothing connects', node: [] },
    ],
  },

  // --- The server closes ---
  {
    name: 'server-close-1000',
    title: 'the server closes with 1000 and a reason',
    server: { kind: 'close', code: 1000, reason: 'bye' },
    steps: until(),
  },
  {
    name: 'server-close-empty',
    title: 'the server closes with no code: close 1005, reason "", clean',
    server: { kind: 'close', code: 1005 },
    steps: until(),
  },
  {
    name: 'server-close-1001',
    title: 'the server closes with 1001 (going away)',
    server: { kind: 'close', code: 1001, reason: 'going away' },
    steps: until(),
  },
  {
    name: 'server-close-1011',
    title: 'the server closes with 1011 and a unicode reason',
    server: { kind: 'close', code: 1011, reason: 'oops ✗ 😀' },
    steps: until(),
  },
  {
    name: 'server-close-4000',
    title: 'the server closes with 4000 after the first message',
    server: { kind: 'close', code: 4000, reason: 'custom', after: 'message' },
    steps: [...open(), text('hello'), waitClose, read()],
  },
  {
    name: 'server-tcp-end',
    title: 'the server ends TCP without a close frame: close 1006, not clean',
    server: { kind: 'raw', frames: [{ op: 1, text: 'last words' }], then: 'end' },
    steps: until(),
  },
  {
    name: 'server-rst',
    title: 'the server resets the connection: close 1006, not clean',
    server: { kind: 'raw', then: 'rst' },
    steps: until(),
  },
  {
    name: 'messages-and-close-one-write',
    title: 'two messages and a close frame in one TCP write',
    server: HOLD([
      { op: 1, text: 'one' },
      { op: 2, hex: '01 02 03' },
      { op: 8, hex: '03 e8 64 6f 6e 65' },
    ]),
    steps: [
      { do: 'new' },
      binaryType('arraybuffer'),
      { do: 'inHandler', event: 'message', nth: 2, steps: [read('readyState')] },
      waitClose,
      read(),
    ],
  },

  // --- The server breaks the protocol: fail the connection ---
  {
    name: 'invalid-utf8',
    title: 'text with invalid UTF-8 (a surrogate): error, close 1006',
    server: HOLD([{ op: 1, hex: 'ce ba e1 bd b9 ed a0 80' }]),
    steps: until(),
    differences: [FAIL_REASON, UTF8_FAIL_CODE],
  },
  {
    name: 'invalid-utf8-fragmented',
    title: 'a code point cut short at the end of a fragmented text message: error, close 1006',
    server: HOLD([
      { op: 1, text: 'ok', fin: false },
      { op: 0, hex: 'e2 82' },
    ]),
    steps: until(),
    differences: [FAIL_REASON, UTF8_FAIL_CODE],
  },
  {
    name: 'masked-server-frame',
    title: 'the server sends a masked frame: error, close 1006',
    server: HOLD([{ op: 1, text: 'masked', mask: true }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'reserved-opcode',
    title: 'a frame with reserved opcode 3: error, close 1006',
    server: HOLD([{ op: 3, text: 'x' }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'reserved-control-opcode',
    title: 'a frame with reserved control opcode 0xB: error, close 1006',
    server: HOLD([{ op: 0xb }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'rsv1-without-extension',
    title: 'RSV1 set without an extension: error, close 1006',
    server: HOLD([{ op: 1, text: 'hi', rsv: 4 }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'oversized-ping',
    title: 'a ping of 126 bytes: error, close 1006',
    server: HOLD([{ op: 9, size: 126 }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'fragmented-ping',
    title: 'a ping without FIN: error, close 1006',
    server: HOLD([{ op: 9, text: 'p', fin: false }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'orphan-continuation',
    title: 'a continuation frame with no message started: error, close 1006',
    server: HOLD([{ op: 0, text: 'x' }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'interleaved-data-frames',
    title: 'a new text frame while a fragmented message is open: error, close 1006',
    server: HOLD([
      { op: 1, text: 'a', fin: false },
      { op: 1, text: 'b' },
    ]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'server-close-invalid-code',
    title: 'the server closes with code 999: we fail the connection (error, close 1006); Chromium accepts it',
    server: HOLD([{ op: 8, hex: '03 e7' }]),
    steps: until(),
    differences: [
      {
        path: 'trace',
        reason:
          'RFC 6455 7.4.2: codes 0-999 are not used, so we fail the connection with 1002 (as Autobahn 7.9.x asks); Chromium 156 takes 999, echoes it and closes cleanly with 999',
        browser: [{ step: 'new' }, { event: 'open' }, { event: 'close', code: 999, wasClean: true }, { step: 'read' }],
        node: [
          { step: 'new' },
          { event: 'open' },
          { event: 'error', readyState: 3 },
          { event: 'close', code: 1006, wasClean: false },
          { step: 'read' },
        ],
      },
      {
        path: 'server',
        reason: 'the close frame the client answers with: 999 echoed by Chromium, 1002 (failing) by us',
        browser: [{ received: [{ type: 'close', code: 999 }] }],
        node: [{ received: [{ type: 'close', code: 1002 }] }],
      },
    ],
  },
  {
    name: 'server-close-one-byte',
    title: 'a close frame with a one-byte body: error, close 1006',
    server: HOLD([{ op: 8, hex: '03' }]),
    steps: until(),
    differences: [FAIL_REASON],
  },

  // --- Messages ---
  {
    name: 'fragmented-text-with-ping',
    title: 'fragmented text with a ping in the middle: one message; the pong reaches the server',
    server: HOLD(
      [
        { op: 1, text: 'frag', fin: false },
        { op: 9, text: 'mid' },
        { op: 0, text: 'men', fin: false },
        { op: 0, text: 'ted ✓' },
      ],
      { split: true },
    ),
    steps: session(undefined, messages(1)),
  },
  {
    name: 'fragmented-binary',
    title: 'fragmented binary, received as an ArrayBuffer',
    server: HOLD([
      { op: 2, hex: '00 01', fin: false },
      { op: 0, hex: '', fin: false },
      { op: 0, hex: 'fe ff' },
    ]),
    steps: [{ do: 'new' }, binaryType('arraybuffer'), messages(1), close(), waitClose, read()],
  },
  {
    name: 'ping-pong',
    title: 'the server pings; the client pongs the same payload by itself',
    server: { kind: 'ping', hex: '70 69 6e 67 00 ff' },
    steps: session(undefined, messages(1)),
  },
  {
    name: 'echo-text',
    title: 'text echo',
    server: ECHO,
    steps: session(undefined, text('hello'), messages(1)),
  },
  {
    name: 'echo-binary-blob',
    title: 'binary echo with the default binaryType blob',
    server: ECHO,
    steps: session(undefined, read('binaryType'), send({ kind: 'buffer', hex: '00 01 02 ff' }), messages(1)),
  },
  {
    name: 'echo-binary-arraybuffer',
    title: 'binary echo with binaryType arraybuffer',
    server: ECHO,
    steps: session(undefined, binaryType('arraybuffer'), send({ kind: 'buffer', hex: '00 01 02 ff' }), messages(1)),
  },
  {
    name: 'binary-type-switch',
    title: 'binaryType is read when a message arrives; an invalid value is ignored',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('nodebuffer'),
      send({ kind: 'buffer', hex: 'aa' }),
      messages(1),
      binaryType('arraybuffer'),
      binaryType('fragments'),
      send({ kind: 'buffer', hex: 'bb' }),
      messages(2),
      binaryType('blob'),
      send({ kind: 'buffer', hex: 'cc' }),
      messages(3),
    ),
  },
  {
    name: 'send-views',
    title: 'send a Uint8Array and a DataView that do not start at 0: only the view is sent',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('arraybuffer'),
      send({ kind: 'u8', hex: '00 11 22 33 44 55', start: 2, end: 5 }),
      send({ kind: 'dataview', hex: '00 11 22 33 44 55', offset: 1, length: 2 }),
      messages(2),
    ),
  },
  {
    name: 'send-blob',
    title: 'send a Blob (bufferedAmount counts it); the echo is a Blob with no type',
    server: ECHO,
    steps: session(
      undefined,
      send({ kind: 'blob', parts: ['text:blob ', '00 ff'], type: 'application/x-test' }),
      read('bufferedAmount'),
      text('after the blob'),
      messages(2),
    ),
  },
  {
    name: 'empty-messages',
    title: 'empty text, ArrayBuffer and Blob are sent and echoed',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('arraybuffer'),
      text(''),
      send({ kind: 'buffer', hex: '' }),
      send({ kind: 'blob', parts: [] }),
      messages(3),
    ),
  },
  {
    name: 'large-1mib',
    title: '1 MiB of binary and 1 MiB of text, echoed',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('arraybuffer'),
      send({ kind: 'pattern', size: 1 << 20 }),
      send({ kind: 'repeat', text: 'ab€😀', count: Math.floor((1 << 20) / 9) }),
      messages(2),
    ),
  },
  {
    name: 'unicode-bom',
    title: 'unicode text with astral characters and a leading BOM is echoed whole',
    server: ECHO,
    steps: session(undefined, text(BOM_TEXT), text('\ufeff'), messages(2)),
  },
  {
    name: 'bom-from-server',
    title: 'a text frame starting with a BOM keeps it',
    server: HOLD([{ op: 1, hex: 'ef bb bf 68 69' }]),
    steps: session(undefined, messages(1)),
  },
  {
    name: 'send-other-values',
    title:
      'send() of a number, boolean, null, undefined or object sends its string; other typed arrays send their bytes',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('arraybuffer'),
      send({ kind: 'value', value: 42 }),
      send({ kind: 'value', value: true }),
      send({ kind: 'value', value: null }),
      send({ kind: 'value', value: '<undefined>' }),
      send({ kind: 'value', value: { a: 1 } }),
      send({ kind: 'value', value: [1, 2] }),
      send({ kind: 'typed', type: 'Uint16Array', hex: '01 02 03 04' }),
      send({ kind: 'typed', type: 'Float64Array', hex: '00 00 00 00 00 00 f0 3f' }),
      messages(8),
    ),
  },
  {
    name: 'length-boundaries',
    title: 'messages of 125, 126, 65535 and 65536 bytes (each length encoding) both ways',
    server: ECHO,
    steps: session(
      undefined,
      binaryType('arraybuffer'),
      ...[125, 126, 65535, 65536].map((size) => send({ kind: 'pattern', size })),
      messages(4),
    ),
  },
  {
    name: 'blob-then-close',
    title: 'close() right after send(Blob): the Blob still goes out before the close frame',
    server: ECHO,
    steps: [
      ...open(),
      send({ kind: 'blob', parts: ['text:last words as a blob'] }),
      close(4005, 'after the blob'),
      read('readyState', 'bufferedAmount'),
      waitClose,
      read(),
    ],
  },
  {
    name: 'large-then-close',
    title: 'close() right after a 1 MiB send(): the message goes out whole before the close frame',
    server: ECHO,
    steps: [
      ...open(),
      send({ kind: 'pattern', size: 1 << 20 }),
      close(4006),
      read('readyState', 'bufferedAmount'),
      waitClose,
      read(),
    ],
  },
  {
    name: 'ping-125',
    title: 'a ping of 125 bytes (the most a control frame holds) is answered with the same payload',
    server: HOLD([
      { op: 9, size: 125 },
      { op: 1, text: 'after the ping' },
    ]),
    steps: session(undefined, messages(1)),
  },
  {
    name: 'url-credentials',
    title: 'a URL with user and password: what url shows, and what the server is sent',
    server: ECHO,
    steps: [
      { do: 'new', url: 'ws://user:pa%20ss@{host}/s/{name}' },
      read('url'),
      { do: 'wait', for: 'open' },
      close(),
      waitClose,
    ],
    differences: [
      {
        path: 'server.0.authorization',
        reason:
          "connect() sends the URL's credentials at once as Basic (as ws does); a browser (Fetch) uses them only to answer a 401 challenge",
        browser: null,
        node: 'Basic dXNlcjpwYSBzcw==',
      },
    ],
  },
  {
    name: 'send-lone-surrogate',
    title: 'send() of a lone surrogate sends U+FFFD (USVString)',
    server: ECHO,
    steps: session(undefined, text('a\ud800b'), messages(1)),
  },

  {
    name: 'utf8-split-across-fragments',
    title: 'a code point split across fragments is one valid character',
    server: HOLD(
      [
        { op: 1, hex: '41 e2 82', fin: false },
        { op: 0, hex: 'ac f0 9f', fin: false },
        { op: 0, hex: '98 80' },
      ],
      { split: true },
    ),
    steps: session(undefined, messages(1)),
  },
  {
    name: 'burst-in-one-write',
    title: 'twenty messages in one TCP write: all delivered, in order, one event each',
    server: HOLD(Array.from({ length: 20 }, (_, i): RawFrame => ({ op: i % 2 === 0 ? 1 : 2, text: `#${i}` }))),
    steps: [{ do: 'new' }, binaryType('arraybuffer'), messages(20), close(), waitClose],
  },
  {
    name: 'non-minimal-lengths',
    title: 'a length in more bytes than needed (RFC 6455 5.2: the minimal number MUST be used) fails the connection',
    server: HOLD([{ op: 1, text: 'sixteen', lengthBytes: 2 }]),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'unsolicited-pong',
    title: 'a pong nobody asked for is ignored',
    server: HOLD([
      { op: 0xa, text: 'pong?' },
      { op: 1, text: 'after the pong' },
    ]),
    steps: session(undefined, messages(1)),
  },
  {
    name: 'data-after-close',
    title: "a message after the server's close frame: we drop it (RFC 6455 1.4), Chromium fails the connection",
    server: HOLD([
      { op: 8, hex: '03 e8 62 79 65' },
      { op: 1, text: 'too late' },
    ]),
    steps: until(),
    differences: [
      {
        path: 'trace',
        reason:
          'RFC 6455 1.4: after a close frame a peer discards any further data, so we close cleanly with the server\'s 1000 "bye"; Chromium 156 answers the close, then fails the connection on the data frame ("Data frame received after close")',
        browser: [
          { step: 'new' },
          { event: 'open' },
          { event: 'error', readyState: 3 },
          { event: 'close', code: 1006, reason: '', wasClean: false },
          { step: 'read', readyState: 3 },
        ],
        node: [
          { step: 'new' },
          { event: 'open' },
          { event: 'close', code: 1000, reason: 'bye', wasClean: true },
          { step: 'read', readyState: 3 },
        ],
      },
    ],
  },
  {
    name: 'server-close-invalid-utf8-reason',
    title: "the server's close reason is not UTF-8: error, close 1006",
    server: HOLD([{ op: 8, hex: '03 e8 ff fe' }]),
    steps: until(),
    differences: [FAIL_REASON, UTF8_FAIL_CODE],
  },
  {
    name: 'wss-to-plain-server',
    title: 'wss: to a server without TLS: error, close 1006',
    server: ECHO,
    steps: [{ do: 'new', url: 'wss://{host}/s/{name}' }, read('url'), waitClose, read()],
  },

  // --- The client closes ---
  ...[999, 1001, 1005, 2999, 5000].map((code): Scenario => ({
    name: `close-code-${code}`,
    title: `close(${code}) throws InvalidAccessError and leaves the socket open`,
    server: ECHO,
    steps: session(undefined, close(code), read('readyState')),
  })),
  {
    name: 'close-codes-valid',
    title: 'close(3000, reason): the server sees the code and reason',
    server: ECHO,
    steps: [...open(), close(3000, 'three thousand'), read('readyState'), waitClose, read()],
  },
  {
    name: 'close-code-4999',
    title: 'close(4999) without a reason',
    server: ECHO,
    steps: [...open(), close(4999), waitClose, read()],
  },
  {
    name: 'close-code-clamped',
    title: 'close(1000.9): WebIDL [Clamp] rounds to 1001, an InvalidAccessError (Chromium truncates to 1000)',
    server: ECHO,
    steps: [...open(), close(1000.9), read('readyState'), close(3000.4), waitClose, read()],
    differences: [
      {
        path: 'trace',
        reason:
          'WebIDL [Clamp] rounds to the nearest integer, ties to even: 1000.9 is 1001, an InvalidAccessError, and 3000.4 is 3000; Chromium 156 truncates 1000.9 to 1000 and closes with it',
        browser: [
          { step: 'new' },
          { event: 'open' },
          { step: 'close(1000.9)', ok: true },
          { step: 'read', readyState: 2 },
          { step: 'close(3000.4)', ok: true },
          { event: 'close', code: 1000 },
          { step: 'read' },
        ],
        node: [
          { step: 'new' },
          { event: 'open' },
          { step: 'close(1000.9)', threw: 'DOMException:InvalidAccessError:15' },
          { step: 'read', readyState: 1 },
          { step: 'close(3000.4)', ok: true },
          { event: 'close', code: 3000 },
          { step: 'read' },
        ],
      },
      {
        path: 'server.*.received',
        reason: 'the code the server gets follows from the above',
        browser: [{ type: 'closed', code: 1000 }],
        node: [{ type: 'closed', code: 3000 }],
      },
    ],
  },
  {
    name: 'close-reason-123',
    title: 'a reason of 123 UTF-8 bytes (2-byte chars) is accepted',
    server: ECHO,
    steps: [...open(), close(4001, utf8Reason(123)), waitClose, read()],
  },
  {
    name: 'close-reason-124',
    title: 'a reason of 124 UTF-8 bytes throws SyntaxError',
    server: ECHO,
    steps: session(undefined, close(4001, utf8Reason(124)), close(4001, '😀'.repeat(31)), read('readyState')),
  },
  {
    name: 'close-reason-no-code',
    title:
      'close(undefined, reason): WebIDL says the code is missing, so 1000 with the reason (Chromium: 0, InvalidAccessError)',
    server: ECHO,
    steps: [...open(), close('<undefined>', 'no code'), read('readyState'), close(), waitClose, read()],
    differences: [
      {
        path: 'trace',
        reason:
          'WebIDL: undefined for an optional argument without a default is "missing", and the standard closes with 1000 when only a reason is given; Chromium 156 converts undefined to 0 and throws InvalidAccessError',
        browser: [
          { step: 'new' },
          { event: 'open' },
          { step: 'close(undefined, "no code")', threw: 'DOMException:InvalidAccessError:15' },
          { step: 'read', readyState: 1 },
          { step: 'close()', ok: true },
          { event: 'close', code: 1005, reason: '' },
          { step: 'read' },
        ],
        node: [
          { step: 'new' },
          { event: 'open' },
          { step: 'close(undefined, "no code")', ok: true },
          { step: 'read', readyState: 2 },
          { step: 'close()', ok: true },
          { event: 'close', code: 1000, reason: 'no code' },
          { step: 'read' },
        ],
      },
      {
        path: 'server.*.received',
        reason: 'the close the server gets follows from the above',
        browser: [{ type: 'closed', code: 1005, reason: '' }],
        node: [{ type: 'closed', code: 1000, reason: 'no code' }],
      },
    ],
  },
  {
    name: 'close-reason-lone-surrogate',
    title: 'a lone surrogate in the reason becomes U+FFFD (3 bytes)',
    server: ECHO,
    steps: [...open(), close(1000, 'x\udc00'), waitClose, read()],
  },
  {
    name: 'close-twice',
    title: 'close() twice: no exception, one close event',
    server: ECHO,
    steps: [...open(), close(1000, 'first'), read('readyState'), close(4000, 'second'), waitClose, close(), read()],
  },
  {
    name: 'close-while-connecting',
    title: 'close() while CONNECTING fails the connection: error, close 1006',
    server: ECHO,
    steps: [{ do: 'new' }, close(), read(), waitClose, read()],
    differences: [{ path: 'server', reason: 'whether the request reaches the server before the abort is a race' }],
  },
  {
    name: 'send-while-connecting',
    title: 'send() while CONNECTING throws InvalidStateError',
    server: ECHO,
    steps: [{ do: 'new' }, text('too early'), read('bufferedAmount'), { do: 'wait', for: 'open' }, close(), waitClose],
  },
  {
    name: 'send-after-close',
    title: 'send() after close(): no exception, bufferedAmount grows by the payload',
    server: ECHO,
    steps: [
      ...open(),
      close(),
      text('abc'),
      read('bufferedAmount'),
      send({ kind: 'buffer', hex: '01 02 03 04 05' }),
      send({ kind: 'blob', parts: ['00 00'] }),
      text('€'),
      read('bufferedAmount'),
      waitClose,
      text('more'),
      read('readyState', 'bufferedAmount'),
    ],
  },
  {
    name: 'buffered-amount',
    title: 'bufferedAmount right after sends in one task, and once they are out',
    server: ECHO,
    steps: session(
      undefined,
      text('12345'),
      text('é'),
      send({ kind: 'pattern', size: 1000 }),
      read('bufferedAmount'),
      messages(3),
      read('bufferedAmount'),
    ),
  },
  {
    name: 'messages-stop-after-close',
    title: 'no message event after close() even though the server keeps sending',
    server: { kind: 'flood', every: 5 },
    steps: [
      { do: 'new' },
      { do: 'inHandler', event: 'message', nth: 2, steps: [close(1000, 'enough'), read('readyState')] },
      waitClose,
      read('readyState'),
    ],
  },
  {
    name: 'messages-stop-after-close-burst',
    title: 'no message event after close(), for messages that arrived in the same TCP read',
    server: HOLD(Array.from({ length: 5 }, (_, i): RawFrame => ({ op: 1, text: `burst ${i}` }))),
    steps: [
      { do: 'new' },
      { do: 'inHandler', event: 'message', nth: 2, steps: [close(1000, 'enough'), read('readyState')] },
      waitClose,
      read('readyState'),
    ],
  },
  {
    name: 'close-in-open-handler',
    title: 'close() inside the open handler, send() after it',
    server: ECHO,
    steps: [
      { do: 'new' },
      {
        do: 'inHandler',
        event: 'open',
        steps: [close(4002, 'at once'), text('x'), read('readyState', 'bufferedAmount')],
      },
      waitClose,
      read(),
    ],
  },

  // --- permessage-deflate ---
  {
    name: 'deflate-echo',
    title: 'permessage-deflate negotiated: the extensions string, a compressed echo',
    server: { kind: 'echo', deflate: true },
    steps: session(
      undefined,
      read('extensions'),
      send({ kind: 'repeat', text: 'compress me ', count: 1000 }),
      binaryType('arraybuffer'),
      send({ kind: 'pattern', size: 5000 }),
      messages(2),
    ),
  },

  {
    name: 'deflate-raw-frames',
    title: 'hand-made compressed frames (RFC 7692), a fragmented one among them, with context takeover',
    server: HOLD(
      [
        { op: 1, text: 'hello hello hello', deflate: true },
        { op: 1, text: 'hello hello hello', deflate: true },
        { op: 2, hex: '00 00 00 00 00 00 00 00 01', deflate: true },
        { op: 1, text: 'plain, no RSV1' },
      ],
      { extensions: 'permessage-deflate' },
    ),
    steps: [{ do: 'new' }, binaryType('arraybuffer'), messages(4), read('extensions'), close(), waitClose],
  },
  {
    name: 'deflate-params-accepted',
    title: 'permessage-deflate with no_context_takeover both ways and client_max_window_bits=9',
    server: HOLD([{ op: 1, text: 'abcabcabc', deflate: true }], {
      extensions:
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9',
    }),
    steps: [
      { do: 'new' },
      messages(1),
      read('extensions'),
      text('short'),
      { do: 'send', data: { kind: 'repeat', text: 'long enough to be compressed by anyone ', count: 40 } },
      close(),
      waitClose,
    ],
    differences: [
      {
        path: 'server.0.received.0.compressed',
        reason:
          'RFC 7692 6: a sender may compress a message or not; Chromium compresses every message, we leave those under our threshold (DEFAULT_THRESHOLD) uncompressed',
        browser: true,
        node: false,
      },
    ],
  },
  ...(
    [
      ['deflate-bad-window-bits', 'permessage-deflate; server_max_window_bits=7', 'server_max_window_bits=7'],
      ['deflate-unknown-param', 'permessage-deflate; x_param', 'an unknown parameter'],
      ['deflate-twice', 'permessage-deflate, permessage-deflate', 'permessage-deflate accepted twice'],
    ] as const
  ).map(([name, extensions, what]): Scenario => ({
    name,
    title: `the server answers permessage-deflate with ${what}: error, close 1006`,
    server: HOLD([], { extensions }),
    steps: until(),
  })),
  {
    name: 'deflate-rsv1-on-ping',
    title: 'RSV1 on a control frame (RFC 7692 6.1) with compression negotiated: error, close 1006',
    server: HOLD([{ op: 9, text: 'p', rsv: 4 }], { extensions: 'permessage-deflate' }),
    steps: until(),
    differences: [FAIL_REASON],
  },
  {
    name: 'deflate-rsv1-on-continuation',
    title: 'RSV1 on a continuation frame (RFC 7692 6.1): error, close 1006',
    server: HOLD(
      [
        { op: 1, text: 'first part', fin: false, deflate: true },
        { op: 0, text: 'second part', deflate: true },
      ],
      { extensions: 'permessage-deflate' },
    ),
    steps: until(),
    differences: [FAIL_REASON],
  },

  // --- Events: order and handlers ---
  {
    name: 'handlers-order',
    title: 'onX handlers and listeners run in registration order; reassigning keeps the place, null removes it',
    server: ECHO,
    steps: [
      { do: 'new' },
      { do: 'handler', event: 'message', via: 'prop', tag: 'A', value: 'record' },
      { do: 'handler', event: 'message', via: 'listener', tag: 'B', value: 'record' },
      { do: 'handler', event: 'open', via: 'listener', tag: 'C', value: 'record' },
      { do: 'handler', event: 'open', via: 'prop', tag: 'D', value: 'record' },
      { do: 'wait', for: 'open' },
      text('one'),
      messages(1),
      { do: 'handler', event: 'message', via: 'prop', tag: 'E', value: 'record' },
      text('two'),
      messages(2),
      { do: 'handler', event: 'message', via: 'prop', tag: 'null', value: null },
      { do: 'handler', event: 'message', via: 'prop', tag: 'F', value: 'record' },
      text('three'),
      messages(3),
      close(),
      waitClose,
    ],
  },
  {
    name: 'handlers-only',
    title: 'only onX handlers (no listener): the events as they see them; the handler attributes read back',
    server: { kind: 'close', code: 4003, reason: 'done', after: 'message' },
    steps: [
      { do: 'new', listen: false },
      { do: 'readHandlers' },
      ...(['open', 'message', 'error', 'close'] as const).map((event): Step => ({
        do: 'handler',
        event,
        via: 'prop',
        tag: 'P',
        value: 'record',
        full: true,
      })),
      { do: 'readHandlers' },
      { do: 'handler', event: 'error', via: 'prop', tag: 'str', value: 'not a function' },
      { do: 'readHandlers' },
      { do: 'wait', for: 'open' },
      text('hi'),
      waitClose,
      read('readyState'),
    ],
  },
  {
    name: 'error-before-close',
    title: 'on a failure, error comes before close, with readyState CLOSED at both',
    server: HOLD([
      { op: 1, text: 'fine' },
      { op: 1, hex: 'ff' },
    ]),
    steps: [
      { do: 'new' },
      { do: 'handler', event: 'error', via: 'prop', tag: 'onerror', value: 'record', full: true },
      { do: 'handler', event: 'close', via: 'prop', tag: 'onclose', value: 'record', full: true },
      waitClose,
      read(),
    ],
    differences: [
      FAIL_REASON,
      UTF8_FAIL_CODE,
      ...['6', '8'].flatMap((i): Difference[] => [
        {
          path: `trace.${i}.eventPhase`,
          reason:
            "Node 20's EventTarget (which WebSocket extends) reports eventPhase 0 and currentTarget null to every listener after the first (it clears its dispatch flag after each listener): a platform bug",
          browser: 2,
        },
        { path: `trace.${i}.targetIsSocket`, reason: 'currentTarget: the same Node EventTarget bug', browser: true },
      ]),
    ],
  },
];
