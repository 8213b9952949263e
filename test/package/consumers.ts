/**
 * The programs that the package checks run in fresh consumer projects. One program, in
 * JavaScript and in TypeScript: the sans-I/O core does a handshake, a message and the
 * close in memory; then two WebSocketDuplexes piped into each other (readable-stream from
 * the installed dependencies) do the same with compression. Each prints one JSON line.
 */

/** The names every consumer imports. */
export const NAMES =
  '{ AcceptConnection, CloseConnection, ConnectionType, Request, TextMessage, WSConnection, WebSocketDuplex, connect }';

/** What every consumer prints. */
export const EXPECTED_OUTPUT = {
  request: 'request /chat',
  accept: 'accept chat',
  text: 'hello, core',
  instanceOf: true,
  close: '1000 CLOSED',
  connect: 'function',
  stream: 'hello, stream',
  extensions: ['permessage-deflate'],
  streamClose: '1000 done true',
};

/** The JavaScript body, after an import or require of NAMES. */
export const JS_CONSUMER = `
const out = {};
const client = new WSConnection(ConnectionType.CLIENT);
const server = new WSConnection(ConnectionType.SERVER);
server.receiveData(client.send(new Request({ host: 'example.com', target: '/chat', subprotocols: ['chat'] })));
const [request] = server.events();
out.request = request.type + ' ' + request.target;
client.receiveData(server.send(new AcceptConnection({ subprotocol: 'chat' })));
const [accept] = client.events();
out.accept = accept.type + ' ' + accept.subprotocol;
server.receiveData(client.send(new TextMessage({ data: 'hello, core' })));
const [text] = server.events();
out.text = text.data;
out.instanceOf = text instanceof TextMessage;
client.receiveData(server.send(new CloseConnection({ code: 1000 })));
const [close] = client.events();
client.send(close.response());
out.close = close.code + ' ' + client.state;
out.connect = typeof connect;

const a = new WebSocketDuplex('server', { perMessageDeflate: true });
const b = new WebSocketDuplex('client', { request: { host: 'example.com', target: '/' }, perMessageDeflate: true });
b.pipe(a).pipe(b);
a.on('message', (data, isBinary) => a.send(data, { binary: isBinary }));
b.on('open', () => b.send('hello, stream'));
b.on('message', (data) => {
  out.stream = data;
  out.extensions = b.extensions.map((e) => e.name);
  b.close(1000, 'done');
});
b.on('close', (code, reason, wasClean) => {
  out.streamClose = code + ' ' + reason + ' ' + wasClean;
  console.log(JSON.stringify(out));
});
`;

/**
 * The same program in TypeScript, written for TypeScript's defaults (target ES5 where the
 * module setting does not imply a later one): no async functions, no iteration of
 * generators by for-of or spread.
 */
export const TS_CONSUMER = `import {
  AcceptConnection,
  CloseConnection,
  ConnectionType,
  Request,
  TextMessage,
  WSConnection,
  WebSocketDuplex,
  connect,
  type WSEvent,
} from 'wsproto';

function only<T extends WSEvent['type']>(events: Iterable<WSEvent>, type: T): Extract<WSEvent, { type: T }> {
  const all = Array.from(events);
  const event = all[0];
  if (all.length !== 1 || event === undefined || event.type !== type) throw new Error('expected one ' + type);
  return event as Extract<WSEvent, { type: T }>;
}

const out: Record<string, unknown> = {};
const client = new WSConnection(ConnectionType.CLIENT);
const server = new WSConnection(ConnectionType.SERVER);
server.receiveData(client.send(new Request({ host: 'example.com', target: '/chat', subprotocols: ['chat'] })));
const request = only(server.events(), 'request');
out.request = request.type + ' ' + request.target;
client.receiveData(server.send(new AcceptConnection({ subprotocol: 'chat' })));
const accept = only(client.events(), 'accept');
out.accept = accept.type + ' ' + accept.subprotocol;
server.receiveData(client.send(new TextMessage({ data: 'hello, core' })));
const text = only(server.events(), 'text');
out.text = text.data;
out.instanceOf = text instanceof TextMessage;
client.receiveData(server.send(new CloseConnection({ code: 1000 })));
const close = only(client.events(), 'close');
client.send(close.response());
out.close = close.code + ' ' + client.state;
out.connect = typeof connect;

const a = new WebSocketDuplex('server', { perMessageDeflate: true });
const b = new WebSocketDuplex('client', { request: { host: 'example.com', target: '/' }, perMessageDeflate: true });
b.pipe(a).pipe(b);
a.on('message', (data: string | Buffer, isBinary: boolean) => a.send(data, { binary: isBinary }));
b.on('open', () => b.send('hello, stream'));
b.on('message', (data: string | Buffer) => {
  out.stream = data;
  out.extensions = b.extensions.map((e) => e.name);
  b.close(1000, 'done');
});
b.on('close', (code: number, reason: string, wasClean: boolean) => {
  out.streamClose = code + ' ' + reason + ' ' + wasClean;
  console.log(JSON.stringify(out));
});
`;

/** Type-level checks, compiled beside TS_CONSUMER and never run. */
export const TS_ASSERTIONS = `import { ConnectionType, TextMessage, WSConnection, WebSocketDuplex, connect } from 'wsproto';
import { pipeline } from 'node:stream';
import type { Socket } from 'node:net';

const ws = new WSConnection(ConnectionType.CLIENT);
// @ts-expect-error: send() returns a Buffer (proves the declarations were found and used)
export const wrong: number = ws.send(new TextMessage({ data: 'x' }));
// @ts-expect-error: the private state keeps the classes nominal: a lookalike is refused
export const lookalike: WSConnection = {} as Pick<WSConnection, keyof WSConnection>;
// WebSocketDuplex is a Node Duplex for Node's own stream functions.
export function wire(socket: Socket): void {
  pipeline(socket, new WebSocketDuplex('server'), socket, (error) => console.log(error));
}
export const connecting: () => Promise<WebSocketDuplex> = () => connect('ws://127.0.0.1:1/');
`;

/** An ES module consumer's default import: an error (TS1192), as it is in Node. */
export const TS_DEFAULT_IMPORT = `import wsproto from 'wsproto';
export const names: string[] = Object.keys(wsproto);
`;
