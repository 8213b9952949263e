/**
 * Type tests of the public surface: compile-time assertions (expect-type and
 * `@ts-expect-error`) that `tsc` checks during `npm run build`. An assertion that stops
 * holding, or a `@ts-expect-error` line that stops being an error, fails the build.
 *
 * The functions below are type-checked, never called (several would throw if run). The
 * `it` at the end runs the few runtime counterparts, so that the file shows in the counts.
 */
import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  CloseReason,
  Connection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Opcode,
  PreparedMessage,
  PerMessageDeflate,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  WebSocketDuplex,
  connect,
  handleUpgrade,
  type AcceptDecision,
  type ConnectHeaders,
  type ConnectOptions,
  type ConnectionEvent,
  type ConnectionOptions,
  type ConnectionRole,
  type ConnectionStateValue,
  type Headers,
  type LocalErrorCode,
  type Message,
  type MessagesOptions,
  type PerMessageDeflateOptions,
  type ReadyState,
  type RemoteErrorCode,
  type UpgradeOptions,
  type WSConnectionOptions,
  type WSEvent,
  type WebSocketDuplexEvents,
  type WebSocketDuplexOptions,
} from '../../lib/index';
import type { Duplex } from 'readable-stream';

// ---- events: the `type` discriminant and the fields ----

/** `switch (event.type)` narrows every member of `WSEvent`, and the `default` is `never`. */
export function narrowsWSEvent(event: WSEvent): string {
  switch (event.type) {
    case 'request':
      expectTypeOf(event).toEqualTypeOf<Request>();
      expectTypeOf(event.host).toEqualTypeOf<string>();
      expectTypeOf(event.target).toEqualTypeOf<string>();
      expectTypeOf(event.subprotocols).toEqualTypeOf<readonly string[]>();
      expectTypeOf(event.extraHeaders).toEqualTypeOf<Headers>();
      return event.target;
    case 'accept':
      expectTypeOf(event).toEqualTypeOf<AcceptConnection>();
      expectTypeOf(event.subprotocol).toEqualTypeOf<string | null>();
      return event.subprotocol ?? '';
    case 'reject':
      expectTypeOf(event).toEqualTypeOf<RejectConnection>();
      expectTypeOf(event.statusCode).toEqualTypeOf<number>();
      expectTypeOf(event.headers).toEqualTypeOf<Headers>();
      expectTypeOf(event.hasBody).toEqualTypeOf<boolean>();
      return String(event.statusCode);
    case 'reject-data':
      expectTypeOf(event).toEqualTypeOf<RejectData>();
      expectTypeOf(event.data).toEqualTypeOf<Buffer>();
      expectTypeOf(event.bodyFinished).toEqualTypeOf<boolean>();
      return event.data.toString();
    case 'text':
      expectTypeOf(event).toEqualTypeOf<TextMessage>();
      expectTypeOf(event.data).toEqualTypeOf<string>();
      expectTypeOf(event.frameFinished).toEqualTypeOf<boolean>();
      expectTypeOf(event.messageFinished).toEqualTypeOf<boolean>();
      return event.data;
    case 'bytes':
      expectTypeOf(event).toEqualTypeOf<BytesMessage>();
      expectTypeOf(event.data).toEqualTypeOf<Buffer>();
      expectTypeOf(event.messageFinished).toEqualTypeOf<boolean>();
      return event.data.toString('hex');
    case 'ping':
      expectTypeOf(event).toEqualTypeOf<Ping>();
      expectTypeOf(event.payload).toEqualTypeOf<Buffer>();
      expectTypeOf(event.response()).toEqualTypeOf<Pong>();
      return 'ping';
    case 'pong':
      expectTypeOf(event).toEqualTypeOf<Pong>();
      expectTypeOf(event.payload).toEqualTypeOf<Buffer>();
      return 'pong';
    case 'close':
      expectTypeOf(event).toEqualTypeOf<CloseConnection>();
      expectTypeOf(event.code).toEqualTypeOf<number>();
      expectTypeOf(event.reason).toEqualTypeOf<string>();
      expectTypeOf(event.response()).toEqualTypeOf<CloseConnection>();
      return event.reason;
    default:
      // Exhaustive: a new event type without a case here fails the build.
      expectTypeOf(event).toBeNever();
      return event;
  }
}

/** The same for the events of a `Connection`: only the five post-handshake events. */
export function narrowsConnectionEvent(event: ConnectionEvent): void {
  switch (event.type) {
    case 'text':
      expectTypeOf(event.data).toBeString();
      break;
    case 'bytes':
      expectTypeOf(event.data).toEqualTypeOf<Buffer>();
      break;
    case 'ping':
    case 'pong':
      expectTypeOf(event.payload).toEqualTypeOf<Buffer>();
      break;
    case 'close':
      expectTypeOf(event.code).toBeNumber();
      break;
    default:
      expectTypeOf(event).toBeNever();
  }
  // @ts-expect-error: a Connection never yields handshake events
  if (event.type === 'request') return;
}

export function discriminants(): void {
  expectTypeOf<WSEvent['type']>().toEqualTypeOf<
    'request' | 'accept' | 'reject' | 'reject-data' | 'text' | 'bytes' | 'ping' | 'pong' | 'close'
  >();
  expectTypeOf<ConnectionEvent['type']>().toEqualTypeOf<'text' | 'bytes' | 'ping' | 'pong' | 'close'>();
  expectTypeOf<ConnectionEvent>().toEqualTypeOf<CloseConnection | TextMessage | BytesMessage | Ping | Pong>();
  expectTypeOf<TextMessage['type']>().toEqualTypeOf<'text'>();
  expectTypeOf<BytesMessage['type']>().toEqualTypeOf<'bytes'>();
  expectTypeOf<TextMessage['data']>().toEqualTypeOf<string>();
  expectTypeOf<BytesMessage['data']>().toEqualTypeOf<Buffer>();
  // Ping and Pong have the same fields but are not interchangeable.
  expectTypeOf<Ping>().not.toExtend<Pong>();
  expectTypeOf<Pong>().not.toExtend<Ping>();
}

/** `instanceof` narrows too: the events are classes. */
export function narrowsByInstanceof(event: WSEvent): void {
  if (event instanceof TextMessage) expectTypeOf(event.data).toBeString();
  if (event instanceof BytesMessage) expectTypeOf(event.data).toEqualTypeOf<Buffer>();
  if (event instanceof CloseConnection) expectTypeOf(event.code).toBeNumber();
}

/** Event fields are read-only. */
export function eventsAreReadonly(text: TextMessage, close: CloseConnection, request: Request): void {
  // @ts-expect-error: readonly
  text.data = 'changed';
  // @ts-expect-error: readonly
  close.code = 1001;
  // @ts-expect-error: the discriminant is readonly too
  text.type = 'bytes';
  // @ts-expect-error: a readonly array
  request.subprotocols.push('chat');
}

// ---- event constructors ----

export function constructorsAcceptTheirFields(): void {
  new TextMessage({ data: 'hi', frameFinished: true, messageFinished: false, compress: false });
  new BytesMessage({ data: new Uint8Array(2) }); // any Uint8Array, delivered as a Buffer
  new CloseConnection({ code: CloseReason.GOING_AWAY, reason: 'bye' });
  new Ping();
  new Ping({ payload: Buffer.from('x') });
  new Pong({ payload: new Uint8Array(1) });
  new Request({ host: 'example.com', target: '/', subprotocols: ['chat'], extensions: [new PerMessageDeflate()] });
  new AcceptConnection();
  new AcceptConnection({ subprotocol: null, extensions: [new PerMessageDeflate()], extraHeaders: [['X-A', 'b']] });
  new RejectConnection({ statusCode: 403, headers: [['Content-Type', 'text/plain']], hasBody: true });
  new RejectData({ data: Buffer.from('no'), bodyFinished: true });
}

export function constructorsRejectWrongFields(): void {
  // @ts-expect-error: text data is a string
  new TextMessage({ data: Buffer.from('x') });
  // @ts-expect-error: bytes data is a Uint8Array
  new BytesMessage({ data: 'x' });
  // @ts-expect-error: the close code is a number
  new CloseConnection({ code: '1000' });
  // @ts-expect-error: the close code is required
  new CloseConnection({ reason: 'bye' });
  // @ts-expect-error: the ping payload is bytes
  new Ping({ payload: 'hello' });
  // @ts-expect-error: a request needs a target
  new Request({ host: 'example.com' });
  // @ts-expect-error: subprotocols is a list
  new Request({ host: 'example.com', target: '/', subprotocols: 'chat' });
  // @ts-expect-error: the status is a number
  new RejectConnection({ statusCode: '404' });
  // @ts-expect-error: the subprotocol is a string or null
  new AcceptConnection({ subprotocol: 1 });
  // @ts-expect-error: a header is a [name, value] pair
  new AcceptConnection({ extraHeaders: [['X-Only-A-Name']] });
  // @ts-expect-error: the data field is required
  new TextMessage({});
  // @ts-expect-error: unknown field (a typo of messageFinished)
  new TextMessage({ data: 'x', messageFinshed: false });
  // @ts-expect-error: unknown field
  new BytesMessage({ data: Buffer.alloc(0), binary: true });
}

// ---- connections ----

export function connectionSendTakesOnlyConnectionEvents(conn: Connection, ws: WSConnection): void {
  expectTypeOf(conn.send).parameter(0).toEqualTypeOf<ConnectionEvent>();
  expectTypeOf(conn.send).returns.toEqualTypeOf<Buffer>();
  conn.send(new TextMessage({ data: 'x' }));
  conn.send(new Ping());
  conn.send(new CloseConnection({ code: 1000 }));
  // @ts-expect-error: handshake events cannot go through a Connection
  conn.send(new Request({ host: 'example.com', target: '/' }));
  // @ts-expect-error: handshake events cannot go through a Connection
  conn.send(new AcceptConnection());
  // @ts-expect-error: not an event
  conn.send('hello');
  // @ts-expect-error: not an event, whatever its type field says
  conn.send({ type: 'text', data: 'x' });

  // A WSConnection takes every event (the state decides at run time).
  expectTypeOf(ws.send).parameter(0).toEqualTypeOf<WSEvent>();
  expectTypeOf(ws.send).returns.toEqualTypeOf<Buffer>();
  ws.send(new Request({ host: 'example.com', target: '/' }));
}

export function receiveAndEvents(conn: Connection, ws: WSConnection): void {
  expectTypeOf(ws.receiveData).parameter(0).toEqualTypeOf<Uint8Array | null>();
  ws.receiveData(Buffer.alloc(1));
  ws.receiveData(new Uint8Array(1));
  ws.receiveData(null);
  // @ts-expect-error: bytes, not strings
  ws.receiveData('GET / HTTP/1.1');
  // @ts-expect-error: EOF is null, not undefined
  conn.receiveData(undefined);

  expectTypeOf(ws.events()).toEqualTypeOf<Generator<WSEvent, void, void>>();
  expectTypeOf(conn.events()).toEqualTypeOf<Generator<ConnectionEvent, void, void>>();
  expectTypeOf(ws.nextEvent()).toEqualTypeOf<WSEvent | null>();
  expectTypeOf(conn.nextEvent()).toEqualTypeOf<ConnectionEvent | null>();
  for (const event of ws.events()) expectTypeOf(event).toEqualTypeOf<WSEvent>();

  expectTypeOf(ws.state).toEqualTypeOf<ConnectionStateValue>();
  expectTypeOf(conn.state).toEqualTypeOf<ConnectionStateValue>();
  expectTypeOf(ws.connection).toEqualTypeOf<Connection | null>();
  expectTypeOf(ws.type).toEqualTypeOf<ConnectionRole>();
}

export function rolesAndStates(): void {
  expectTypeOf<ConnectionRole>().toEqualTypeOf<'client' | 'server'>();
  expectTypeOf(ConnectionType.CLIENT).toEqualTypeOf<'client'>();
  expectTypeOf<ConnectionStateValue>().toEqualTypeOf<
    'CONNECTING' | 'OPEN' | 'REMOTE_CLOSING' | 'LOCAL_CLOSING' | 'CLOSED' | 'REJECTING'
  >();
  expectTypeOf(ConnectionState.REMOTE_CLOSING).toEqualTypeOf<'REMOTE_CLOSING'>();
  expectTypeOf(CloseReason.NORMAL_CLOSURE).toEqualTypeOf<1000>();
  expectTypeOf(Opcode.TEXT).toEqualTypeOf<0x1>();
  new WSConnection('client');
  new Connection(ConnectionType.SERVER);
  // @ts-expect-error: the role is 'client' or 'server'
  new WSConnection('browser');
  // @ts-expect-error: the role is required
  new Connection();
}

export function stateComparisonsAreChecked(ws: WSConnection): void {
  if (ws.state === 'OPEN') return;
  // @ts-expect-error: a misspelt state never matches
  if (ws.state === 'CLOSING') return;
}

// ---- options: known keys only, with their types ----

export function optionsRejectUnknownKeys(): void {
  new WSConnection('server', { maxMessageSize: 1 << 20, maxFrameSize: 1 << 16, maxHeadSize: 8192, maxHeaders: 50 });
  new Connection('client', { maxMessageSize: 1024, extensions: [], trailingData: Buffer.alloc(0) });
  new PerMessageDeflate({ serverNoContextTakeover: true, clientMaxWindowBits: 10, inflateBackend: 'node:zlib' });

  // @ts-expect-error: unknown option (a typo of maxMessageSize)
  new WSConnection('server', { maxMesageSize: 1 });
  new Connection('client', { autoPong: true, autoCloseReply: true });
  // @ts-expect-error: unknown option
  new Connection('client', { autoPing: false });
  // @ts-expect-error: a size is a number
  new Connection('client', { maxFrameSize: '1mb' });
  // @ts-expect-error: unknown option
  new PerMessageDeflate({ windowBits: 15 });
  // @ts-expect-error: the window is a number of bits
  new PerMessageDeflate({ serverMaxWindowBits: '15' });
  // @ts-expect-error: the backends are 'node:zlib' and 'zlib-sync'
  new PerMessageDeflate({ inflateBackend: 'pako' });
  // @ts-expect-error: unknown option
  new WebSocketDuplex('server', { autoPing: true });
  // @ts-expect-error: a client stream's request needs a target
  new WebSocketDuplex('client', { request: { host: 'example.com' } });

  expectTypeOf<ConnectionOptions>().toHaveProperty('maxMessageSize');
  expectTypeOf<WSConnectionOptions>().toHaveProperty('maxRejectBodySize');
  expectTypeOf<PerMessageDeflateOptions>().toHaveProperty('threshold');
}

export async function streamHelpers(upgrade: Parameters<typeof handleUpgrade>): Promise<void> {
  const options: ConnectOptions = { subprotocols: ['chat'], perMessageDeflate: true, connectTimeout: 1000 };
  const ws = await connect('ws://127.0.0.1:1/', options);
  expectTypeOf(ws).toEqualTypeOf<WebSocketDuplex>();
  expectTypeOf(ws.app).toEqualTypeOf<Duplex>();
  // The events are typed: listener arguments are checked, a misspelt name does not compile.
  ws.on('message', (data, isBinary) => {
    expectTypeOf(data).toEqualTypeOf<string | Buffer>();
    expectTypeOf(isBinary).toEqualTypeOf<boolean>();
  });
  ws.once('close', (code, reason, wasClean, cause) => {
    expectTypeOf(code).toEqualTypeOf<number>();
    expectTypeOf(reason).toEqualTypeOf<string>();
    expectTypeOf(wasClean).toEqualTypeOf<boolean>();
    expectTypeOf(cause).toEqualTypeOf<Error | null>();
  });
  ws.on('ping', (payload) => expectTypeOf(payload).toEqualTypeOf<Buffer>());
  // @ts-expect-error: no such event (a typo of 'message')
  ws.on('mesage', () => undefined);
  // @ts-expect-error: 'message' data is not only a string
  ws.on('message', (data: string) => data);
  expectTypeOf<WebSocketDuplexEvents['open']>().toEqualTypeOf<[]>();
  expectTypeOf(ws.protocol).toEqualTypeOf<string>();
  expectTypeOf(ws.send).parameter(0).toEqualTypeOf<string | Uint8Array | PreparedMessage>();
  expectTypeOf(connect).returns.toEqualTypeOf<Promise<WebSocketDuplex>>();
  expectTypeOf(handleUpgrade).returns.toEqualTypeOf<WebSocketDuplex>();
  // @ts-expect-error: a client does not decide on requests
  await connect('ws://127.0.0.1:1/', { accept: () => true });
  // @ts-expect-error: unknown option
  await connect('ws://127.0.0.1:1/', { subprotocol: 'chat' });
  const [req, socket, head] = upgrade;
  const upgradeOptions: UpgradeOptions = { selectSubprotocol: (offered) => offered[0] ?? null };
  handleUpgrade(req, socket, head, upgradeOptions);
  // @ts-expect-error: the server stream makes its own request
  handleUpgrade(req, socket, head, { request: { host: 'x', target: '/' } });
  // @ts-expect-error: unknown option
  handleUpgrade(req, socket, head, { origin: 'https://app.example' });
  expectTypeOf<WebSocketDuplexOptions['accept']>().toEqualTypeOf<
    ((request: Request) => AcceptDecision | Promise<AcceptDecision>) | undefined
  >();
}

/** What users coming from `ws` reach for: readyState, pong, messages(), headers and signal. */
export async function fromWs(ws: WebSocketDuplex): Promise<void> {
  expectTypeOf(ws.readyState).toEqualTypeOf<ReadyState>();
  expectTypeOf<ReadyState>().toEqualTypeOf<0 | 1 | 2 | 3>();
  expectTypeOf(WebSocketDuplex.OPEN).toEqualTypeOf<1>();
  expectTypeOf(ws.CLOSED).toEqualTypeOf<3>();
  if (ws.readyState === WebSocketDuplex.OPEN) ws.send('x');
  // @ts-expect-error: the constants are read-only
  WebSocketDuplex.OPEN = 2;
  // @ts-expect-error: a readyState is 0..3
  if (ws.readyState === 4) return;
  expectTypeOf(ws.pong).parameters.toEqualTypeOf<
    [payload?: string | Uint8Array, callback?: (error?: Error | null) => void]
  >();
  expectTypeOf(ws.pong()).toEqualTypeOf<boolean>();
  ws.terminate();

  for await (const message of ws.messages({ highWaterMark: 4, closeOnReturn: false })) {
    expectTypeOf(message).toEqualTypeOf<Message>();
    expectTypeOf(message.data).toEqualTypeOf<string | Buffer>();
    expectTypeOf(message.isBinary).toEqualTypeOf<boolean>();
  }
  expectTypeOf(ws.messages()).toEqualTypeOf<AsyncIterableIterator<Message>>();
  expectTypeOf<MessagesOptions>().toEqualTypeOf<{ highWaterMark?: number; closeOnReturn?: boolean }>();
  // @ts-expect-error: unknown option
  ws.messages({ hwm: 4 });

  await connect('ws://x/', { headers: { Origin: 'https://a.example', 'X-A': ['1', '2'] } });
  await connect('ws://x/', { headers: [['Origin', 'https://a.example']] });
  await connect('ws://x/', { headers: new Map([['Origin', 'https://a.example']]) });
  await connect('ws://x/', { signal: AbortSignal.timeout(1000) });
  // @ts-expect-error: header values are strings or lists of strings
  await connect('ws://x/', { headers: { 'X-N': 1 } });
  // @ts-expect-error: a signal is an AbortSignal
  await connect('ws://x/', { signal: true });
  expectTypeOf<ConnectOptions['headers']>().toEqualTypeOf<ConnectHeaders | undefined>();
  expectTypeOf(ws.protocol).toEqualTypeOf<string>();
}

// ---- errors ----

export function errorCodesAreClosedUnions(local: LocalProtocolError, remote: RemoteProtocolError): void {
  expectTypeOf(local.code).toEqualTypeOf<LocalErrorCode>();
  expectTypeOf(remote.code).toEqualTypeOf<RemoteErrorCode>();
  expectTypeOf(remote.closeCode).toEqualTypeOf<number>();
  expectTypeOf<LocalErrorCode>().toExtend<`ERR_${string}`>();
  expectTypeOf<RemoteErrorCode>().toExtend<`ERR_${string}`>();
  // @ts-expect-error: a comparison with a code that does not exist is caught
  if (local.code === 'ERR_NOT_A_CODE') return;
  // @ts-expect-error: only the documented codes
  new LocalProtocolError('message', 'ERR_SOMETHING');
  expectTypeOf(local).toExtend<Error>();
  expectTypeOf(remote).toExtend<Error>();
}

// ---- the runtime counterpart ----

describe('types of the public surface (checked by tsc)', () => {
  it('compile-time assertions hold; at run time the tags match the classes', () => {
    const events: WSEvent[] = [
      new Request({ host: 'h', target: '/' }),
      new AcceptConnection(),
      new RejectConnection(),
      new RejectData({ data: Buffer.alloc(0) }),
      new TextMessage({ data: 't' }),
      new BytesMessage({ data: new Uint8Array([1]) }),
      new Ping(),
      new Pong(),
      new CloseConnection({ code: 1000 }),
    ];
    expect(events.map(narrowsWSEvent)).to.deep.equal(['/', '', '400', '', 't', '01', 'ping', 'pong', '']);
    // BytesMessage keeps a Uint8Array as a Buffer (the type says Buffer).
    expect(Buffer.isBuffer((events[5] as BytesMessage).data)).to.equal(true);
    // The handshake events that Connection.send refuses at compile time it refuses at run time.
    const conn = new Connection('client');
    expect(() => conn.send(new Request({ host: 'h', target: '/' }) as unknown as ConnectionEvent)).to.throw(
      LocalProtocolError,
    );
  });
});
