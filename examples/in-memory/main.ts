/**
 * The sans-I/O core over a transport that is not a socket: a client `WSConnection` and a
 * server `WSConnection` talk through an in-memory wire that cuts every write into small
 * chunks, as a network may. Each side follows the recipe of docs/embedding.md, in the
 * `Endpoint` class below; copy that class and put your transport under it.
 *
 *     node dist/examples/in-memory/main.js [chunk size, default 7]
 *
 * Four scenes: a whole conversation (handshake with a subprotocol and permessage-deflate,
 * messages, a fragmented message, ping, close), a client that breaks the protocol, a
 * transport that drops, and a request that is not a WebSocket handshake. What each side
 * sees is the same whatever the chunk size: run it with 1 to feed the core byte by byte.
 */
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionType,
  PerMessageDeflate,
  Ping,
  RejectConnection,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionRole,
  type WSEvent,
} from 'wsproto';

// ---- the transport: an in-memory pair ----

/** All the recipe needs from a transport: write bytes in order, and half-close. */
interface Transport {
  /** Queue bytes for the peer. The transport owns them from now on. */
  write(bytes: Uint8Array): void;
  /** Half-close: the peer reads EOF after the bytes already written. */
  end(): void;
}

/**
 * Two connected transport ends. Deliveries wait in one queue that `run()` drains, so the
 * ends never call into each other re-entrantly (an event loop in miniature), and every
 * write reaches the peer as chunks of at most `chunkSize` bytes, each a fresh copy: the
 * core keeps the chunks it is given and a server unmasks them in place, so a transport
 * must never hand it a buffer that something else still uses.
 */
class Wire {
  readonly #queue: Array<() => void> = [];

  constructor(readonly chunkSize: number) {}

  /** Two ends; `a.write()` reaches `b.onData`, and the other way round. */
  pair(): [WireEnd, WireEnd] {
    const a = new WireEnd(this);
    const b = new WireEnd(this);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** Queue a delivery. */
  schedule(task: () => void): void {
    this.#queue.push(task);
  }

  /** Deliver until both directions are idle. */
  run(): void {
    for (let task = this.#queue.shift(); task !== undefined; task = this.#queue.shift()) task();
  }
}

class WireEnd implements Transport {
  peer: WireEnd | null = null;
  /** Called with each chunk that arrives, and with null at EOF. */
  onData: (chunk: Uint8Array | null) => void = () => undefined;
  #ended = false;

  constructor(readonly wire: Wire) {}

  write(bytes: Uint8Array): void {
    if (this.#ended) throw new Error('write after end');
    const peer = this.peer!;
    for (let at = 0; at < bytes.length; at += this.wire.chunkSize) {
      const chunk = Buffer.from(bytes.subarray(at, at + this.wire.chunkSize)); // a copy
      this.wire.schedule(() => peer.onData(chunk));
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const peer = this.peer!;
    this.wire.schedule(() => peer.onData(null));
  }
}

// ---- the recipe ----

/** What the application decides; everything else the `Endpoint` does by itself. */
interface App {
  /** Server: answer a request with `AcceptConnection` or `RejectConnection`. */
  onRequest?(request: Request): AcceptConnection | RejectConnection;
  /** The handshake completed. */
  onOpen?(endpoint: Endpoint): void;
  /** A whole message (the endpoint assembles the pieces). */
  onMessage?(endpoint: Endpoint, data: string | Buffer): void;
  /** A pong arrived. */
  onPong?(endpoint: Endpoint, payload: Buffer): void;
}

/** One side of a connection: a `WSConnection` over a `Transport`. */
class Endpoint {
  readonly ws: WSConnection;
  #pieces: Array<string | Buffer> = [];
  #transportEnded = false;

  constructor(
    readonly name: string,
    role: ConnectionRole,
    readonly transport: Transport,
    readonly app: App = {},
  ) {
    this.ws = new WSConnection(role);
  }

  log(line: string): void {
    console.log(`${this.name}: ${line}`);
  }

  /** Every event goes out the same way: serialize it, write the bytes, in order. */
  send(event: WSEvent): void {
    this.transport.write(this.ws.send(event));
  }

  /** Wire this to the transport: every chunk it delivers, and null at EOF. */
  receive(chunk: Uint8Array | null): void {
    if (chunk !== null && this.ws.state === 'CLOSED') return; // done: nothing more is read
    if (chunk === null) this.log('EOF from the peer');
    try {
      this.ws.receiveData(chunk);
    } catch (error) {
      this.#handshakeFailed(error);
      return;
    }
    // Drain after every receiveData: one chunk may hold many events, or none.
    for (const event of this.ws.events()) this.#handle(event);
    // The peer will send nothing more: whatever the events above said, we are done too.
    if (chunk === null) this.#endTransport();
  }

  #handle(event: WSEvent): void {
    switch (event.type) {
      case 'request': {
        this.log(`request ${event.target} from ${event.host}, subprotocols [${event.subprotocols.join(', ')}]`);
        const answer = this.app.onRequest?.(event) ?? new AcceptConnection();
        this.send(answer);
        if (answer.type === 'accept') {
          this.log(`accepted: ${describeOpen(answer.subprotocol, this.ws)}`);
          this.app.onOpen?.(this);
        } else {
          this.log(`rejected with ${answer.statusCode}`);
          this.#endTransport();
        }
        break;
      }
      case 'accept':
        this.log(`open: ${describeOpen(event.subprotocol, this.ws)}`);
        this.app.onOpen?.(this);
        break;
      case 'reject':
        this.log(`the server rejected the handshake with ${event.statusCode}`);
        if (!event.hasBody) this.#endTransport();
        break;
      case 'reject-data':
        if (event.bodyFinished) this.#endTransport();
        break;
      case 'text':
      case 'bytes':
        // Messages stream: assemble the pieces (a real application bounds this buffer, or
        // processes the pieces as they come).
        this.#pieces.push(event.data);
        if (event.messageFinished) {
          const pieces = this.#pieces;
          this.#pieces = [];
          const data = event.type === 'text' ? pieces.join('') : Buffer.concat(pieces as Buffer[]);
          this.app.onMessage?.(this, data);
        }
        break;
      case 'ping':
        this.log(`ping ${JSON.stringify(event.payload.toString())}`);
        // Only an OPEN connection may send a pong: after our close, nothing but the
        // peer's close is expected.
        if (this.ws.state === 'OPEN') this.send(event.response());
        break;
      case 'pong':
        this.log(`pong ${JSON.stringify(event.payload.toString())}`);
        this.app.onPong?.(this, event.payload);
        break;
      case 'close': {
        const failed = this.ws.connection?.failed ?? false;
        this.log(
          `close ${event.code}${event.reason === '' ? '' : ` "${event.reason}"`}${failed ? ' (the peer broke the protocol)' : ''}`,
        );
        // REMOTE_CLOSING: the peer closed (or broke the protocol); answer with a close.
        if (this.ws.state === 'REMOTE_CLOSING') this.send(event.response());
        // Now CLOSED. RFC 6455 7.1.1: the server closes the transport first; a client
        // waits for that EOF (under a timer of its own in real life) unless the
        // connection failed (7.1.7) or the transport is already gone (1006).
        if (this.ws.type === 'server' || failed || event.code === 1006) this.#endTransport();
        else this.log('waiting for the server to close the transport');
        break;
      }
      default: {
        // Every event type has its case: adding one to WSEvent makes this a compile error.
        const unexpected: never = event;
        throw new Error(`unexpected event ${String(unexpected)}`);
      }
    }
  }

  #handshakeFailed(error: unknown): void {
    // Only the opening handshake throws on the peer's input; anything else is a bug.
    if (!(error instanceof RemoteProtocolError)) throw error;
    this.log(`handshake failed: ${error.code} (${error.message})`);
    // A server sends the suggested rejection (400, 426, 431 ...) before hanging up.
    if (error.eventHint instanceof RejectConnection) {
      this.send(error.eventHint);
      this.log(`sent ${error.eventHint.statusCode}`);
    }
    this.#endTransport();
  }

  #endTransport(): void {
    if (this.#transportEnded) return;
    this.#transportEnded = true;
    this.log('transport end');
    this.transport.end();
  }
}

function describeOpen(subprotocol: string | null, ws: WSConnection): string {
  const extensions = ws.connection?.extensions.map((e) => e.name) ?? [];
  return `subprotocol ${subprotocol ?? 'none'}, extensions [${extensions.join(', ')}]`;
}

/** A client and a server endpoint over one wire; the client sends its request. */
function connectPair(wire: Wire, server: App, client: App, request: Request): [Endpoint, Endpoint] {
  const [clientEnd, serverEnd] = wire.pair();
  const s = new Endpoint('server', ConnectionType.SERVER, serverEnd, server);
  const c = new Endpoint('client', ConnectionType.CLIENT, clientEnd, client);
  serverEnd.onData = (chunk) => s.receive(chunk);
  clientEnd.onData = (chunk) => c.receive(chunk);
  c.log(`request ${request.target}`);
  c.send(request);
  return [c, s];
}

function text(data: string | Buffer): string {
  return typeof data === 'string' ? `text ${JSON.stringify(data)}` : `bytes <${data.toString('hex')}>`;
}

// ---- the scenes ----

const chunkSize = Number(process.argv[2] ?? 7);
if (!Number.isInteger(chunkSize) || chunkSize < 1) {
  console.error('usage: node dist/examples/in-memory/main.js [chunk size >= 1]');
  process.exit(2);
}
console.log(`(every write arrives in chunks of at most ${chunkSize} bytes)`);

function conversation(): void {
  console.log('\n== 1. a conversation');
  const wire = new Wire(chunkSize);
  const echo: App = {
    onRequest: (request) =>
      new AcceptConnection({
        subprotocol: request.subprotocols.includes('chat.v1') ? 'chat.v1' : null,
        extensions: [new PerMessageDeflate()], // one instance per connection
      }),
    onMessage: (server, data) => {
      server.log(`${text(data)}: echo`);
      server.send(typeof data === 'string' ? new TextMessage({ data }) : new BytesMessage({ data }));
    },
  };
  let replies = 0;
  const client: App = {
    onOpen: (c) => {
      c.send(new TextMessage({ data: 'Hello, server' }));
      // A message in three frames: pieces with messageFinished false, then the last.
      c.send(new TextMessage({ data: 'one message, ', messageFinished: false }));
      c.send(new TextMessage({ data: 'three ', messageFinished: false }));
      c.send(new TextMessage({ data: 'frames' }));
      c.send(new BytesMessage({ data: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }));
      c.send(new Ping({ payload: Buffer.from('are you there?') }));
      c.log('sent 3 messages and a ping');
    },
    onMessage: (c, data) => {
      c.log(`echo: ${text(data)}`);
      if (++replies === 3) c.send(new CloseConnection({ code: 1000, reason: 'bye' }));
    },
  };
  const request = new Request({
    host: 'example.com',
    target: '/chat',
    subprotocols: ['chat.v1'],
    extensions: [new PerMessageDeflate()],
  });
  const [c, s] = connectPair(wire, echo, client, request);
  wire.run();
  console.log(`final states: client ${c.ws.state}, server ${s.ws.state}`);
}

function protocolError(): void {
  console.log('\n== 2. the client breaks the protocol');
  const wire = new Wire(chunkSize);
  const client: App = {
    // RFC 6455 5.1: a client must mask its frames. Write an unmasked text frame by hand.
    onOpen: (c) => c.transport.write(Buffer.from([0x81, 0x02, 0x68, 0x69])),
  };
  const [c, s] = connectPair(wire, {}, client, new Request({ host: 'example.com', target: '/' }));
  wire.run();
  console.log(`final states: client ${c.ws.state}, server ${s.ws.state}`);
}

function transportDrops(): void {
  console.log('\n== 3. the transport drops without a close');
  const wire = new Wire(chunkSize);
  const server: App = { onOpen: (s) => s.transport.end() };
  const [c, s] = connectPair(wire, server, {}, new Request({ host: 'example.com', target: '/' }));
  wire.run();
  console.log(`final states: client ${c.ws.state}, server ${s.ws.state}`);
}

function notAHandshake(): void {
  console.log('\n== 4. a request that is not a WebSocket handshake');
  const wire = new Wire(chunkSize);
  const [raw, serverEnd] = wire.pair();
  const s = new Endpoint('server', ConnectionType.SERVER, serverEnd);
  serverEnd.onData = (chunk) => s.receive(chunk);
  let response = '';
  raw.onData = (chunk) => {
    if (chunk !== null) response += Buffer.from(chunk).toString('latin1');
    else console.log(`raw client: got ${JSON.stringify(response.split('\r\n')[0])}`);
  };
  raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'));
  wire.run();
  console.log(`final state: server ${s.ws.state}`);
}

conversation();
protocolError();
transportDrops();
notAHandshake();
