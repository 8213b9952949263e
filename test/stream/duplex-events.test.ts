/**
 * Mirror test for lib/stream/duplex-events: the events a `WebSocketDuplex` emits carry
 * the documented arguments at runtime (a real exchange over an in-memory pair), and the
 * event map types the listeners at compile time (expect-type and `@ts-expect-error`,
 * checked by `tsc` during the build).
 */
import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import {
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  WebSocketDuplex,
  type WebSocketDuplexEvents,
  type WebSocketDuplexListener,
  type WebSocketDuplexOptions,
} from '../../lib/index';
import { once, until } from '../helpers/net';

/** The events WebSocketDuplex itself emits (the rest are the Duplex base's). */
const OWN_EVENTS = [
  'request',
  'open',
  'message',
  'ping',
  'pong',
  'closing',
  'close',
  'rejected',
  'rejected-data',
] as const;
type OwnEvent = (typeof OWN_EVENTS)[number];
type Logged = { [K in OwnEvent]: [K, WebSocketDuplexEvents[K]] }[OwnEvent];

/** Record every own event of `ws` with its arguments, in order. */
function record(ws: WebSocketDuplex): Logged[] {
  const log: Logged[] = [];
  for (const name of OWN_EVENTS) {
    (ws.on as (event: string, listener: (...args: unknown[]) => void) => void)(name, (...args: unknown[]) =>
      log.push([name, args] as Logged),
    );
  }
  return log;
}

// The server decides with `accept` (a recorded 'request' listener would otherwise wait for accept()).
function pair(serverOptions: WebSocketDuplexOptions = { accept: () => true }) {
  const client = new WebSocketDuplex('client', { request: { host: 'x', target: '/chat', subprotocols: ['chat'] } });
  const server = new WebSocketDuplex('server', serverOptions);
  const logs = { client: record(client), server: record(server) };
  client.pipe(server).pipe(client);
  return { client, server, logs };
}

const names = (log: Logged[]) => log.map(([name]) => name);

describe('stream/duplex-events', () => {
  describe('at runtime, in a real exchange', () => {
    it("'request', 'open', 'message' (string, false) / (Buffer, true), 'ping', 'pong', 'closing' (the peer's code, reason, no failure), 'close' (code, reason, wasClean, cause)", async () => {
      const { client, server, logs } = pair({ accept: () => ({ subprotocol: 'chat' }) });
      server.on('message', (data, isBinary) => {
        if (data.toString() === 'bye') server.close(1000, 'see you');
        else server.send(data, { binary: isBinary });
      });
      await once(client, 'open');
      client.send('text ✓');
      client.send(Buffer.from([0, 1, 2]));
      client.ping(Buffer.from('are you there'));
      client.send('bye');
      await Promise.all([once(client, 'close'), once(server, 'close')]);

      expect(names(logs.server)).to.deep.equal([
        'request',
        'open',
        'message',
        'message',
        'ping',
        'message',
        'closing',
        'close',
      ]);
      const [, [request]] = logs.server[0] as ['request', [Request]];
      expect(request).to.be.instanceOf(Request);
      expect(request.target).to.equal('/chat');
      expect(request.subprotocols).to.deep.equal(['chat']);
      expect(logs.server[1]).to.deep.equal(['open', []]);
      expect(logs.server[2]).to.deep.equal(['message', ['text ✓', false]]);
      expect(logs.server[3]).to.deep.equal(['message', [Buffer.from([0, 1, 2]), true]]);
      expect(Buffer.isBuffer(logs.server[3]![1][0])).to.equal(true);
      expect(logs.server[4]).to.deep.equal(['ping', [Buffer.from('are you there')]]);
      expect(Buffer.isBuffer(logs.server[4]![1][0])).to.equal(true);
      expect(logs.server[5]).to.deep.equal(['message', ['bye', false]]);
      expect(logs.server[6]).to.deep.equal(['closing', [1000, 'see you', null]]); // the client's answer
      expect(logs.server[7]).to.deep.equal(['close', [1000, 'see you', true, null]]);

      expect(names(logs.client)).to.deep.equal(['open', 'message', 'message', 'pong', 'closing', 'close']);
      expect(logs.client[1]).to.deep.equal(['message', ['text ✓', false]]);
      expect(logs.client[2]).to.deep.equal(['message', [Buffer.from([0, 1, 2]), true]]);
      expect(logs.client[3]).to.deep.equal(['pong', [Buffer.from('are you there')]]);
      expect(logs.client[4]).to.deep.equal(['closing', [1000, 'see you', null]]);
      expect(logs.client[5]).to.deep.equal(['close', [1000, 'see you', true, null]]);
      expect(client.protocol).to.equal('chat');
    });

    it("a peer that breaks the protocol: 'closing' with our close code and reason and the RemoteProtocolError", async () => {
      const { client, server, logs } = pair();
      await once(server, 'open');
      client.unpipe(server);
      // A masked text frame (key 0) whose payload is not UTF-8.
      server.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
      await until(() => names(logs.server).includes('closing'));
      const [, [code, reason, failure]] = logs.server.find(([name]) => name === 'closing') as [
        'closing',
        WebSocketDuplexEvents['closing'],
      ];
      expect(code).to.equal(1007);
      expect(failure).to.be.instanceOf(RemoteProtocolError);
      expect(failure!.code).to.equal('ERR_INVALID_UTF8');
      expect(reason).to.equal(failure!.message);
      server.destroy();
      client.destroy();
    });

    it("'close' is emitted once, with 1006, not clean, and an Error cause when the transport is cut", async () => {
      const { client, server, logs } = pair();
      await once(server, 'open');
      client.unpipe(server);
      server.unpipe(client);
      server.resume(); // somebody takes the server's output, as a transport would
      server.end(); // the server's transport input ends without a close frame
      await until(() => names(logs.server).includes('close'));
      const closes = logs.server.filter(([name]) => name === 'close');
      expect(closes).to.have.length(1);
      expect(names(logs.server)).not.to.include('closing'); // no close frame came
      const [code, reason, wasClean, cause] = closes[0]![1] as WebSocketDuplexEvents['close'];
      expect(code).to.equal(1006);
      expect(reason).to.be.a('string').and.not.equal('');
      expect(wasClean).to.equal(false);
      expect(cause).to.be.instanceOf(Error);
      client.destroy();
    });

    it("client: 'rejected' (RejectConnection), 'rejected-data' (RejectData), then 'close' (1006, reason, false, null)", async () => {
      const { client, logs } = pair({
        accept: () => ({ accept: false, statusCode: 403, body: 'go away', headers: [['X-Why', 'test']] }),
      });
      await once(client, 'close');
      const seen = names(logs.client);
      expect(seen[0]).to.equal('rejected');
      expect(seen.at(-1)).to.equal('close');
      // The body comes in pieces (as wsproto: the data, then an empty piece that finishes it).
      expect(seen.slice(1, -1)).to.have.length.above(0);
      expect(new Set(seen.slice(1, -1))).to.deep.equal(new Set(['rejected-data']));
      const [, [response]] = logs.client[0] as ['rejected', [RejectConnection]];
      expect(response).to.be.instanceOf(RejectConnection);
      expect(response.statusCode).to.equal(403);
      expect(response.headers).to.deep.include(['X-Why', 'test']);
      const pieces = logs.client.slice(1, -1).map(([, [piece]]) => piece as RejectData);
      for (const piece of pieces) expect(piece).to.be.instanceOf(RejectData);
      expect(Buffer.concat(pieces.map((p) => p.data)).toString()).to.equal('go away');
      expect(pieces.map((p) => p.bodyFinished).lastIndexOf(true)).to.equal(pieces.length - 1);
      const [code, reason, wasClean, cause] = logs.client.at(-1)![1] as WebSocketDuplexEvents['close'];
      expect([code, wasClean, cause]).to.deep.equal([1006, false, null]);
      expect(reason).to.contain('403');
    });

    it("'error' only for destroy(error), with that error; 'close' follows with it as the cause", async () => {
      const { client, server } = pair();
      await once(server, 'open');
      const boom = new Error('application failure');
      const errors: Error[] = [];
      server.on('error', (e) => errors.push(e));
      const closed = once<WebSocketDuplexEvents['close']>(server, 'close');
      server.destroy(boom);
      const [code, , wasClean, cause] = await closed;
      expect(errors).to.deep.equal([boom]);
      expect([code, wasClean, cause]).to.deep.equal([1006, false, boom]);
      client.destroy();
    });

    it("wire face 'data' chunks are Buffers", async () => {
      const client = new WebSocketDuplex('client', { request: { host: 'x', target: '/' } });
      const [chunk] = await once<WebSocketDuplexEvents['data']>(client, 'data');
      expect(Buffer.isBuffer(chunk)).to.equal(true);
      expect(chunk.toString('latin1')).to.match(/^GET \/ HTTP\/1\.1\r\n/);
      client.destroy();
    });
  });

  describe('at compile time (tsc checks these; the function is never called)', () => {
    it('listener argument types follow WebSocketDuplexEvents; a misspelt event name does not compile', () => {
      function typeChecks(ws: WebSocketDuplex): void {
        ws.on('open', (...args) => expectTypeOf(args).toEqualTypeOf<[]>());
        ws.on('message', (data, isBinary) => {
          expectTypeOf(data).toEqualTypeOf<string | Buffer>();
          expectTypeOf(isBinary).toEqualTypeOf<boolean>();
        });
        ws.once('ping', (payload) => expectTypeOf(payload).toEqualTypeOf<Buffer>());
        ws.off('pong', (payload: Buffer) => expectTypeOf(payload).toEqualTypeOf<Buffer>());
        ws.on('close', (code, reason, wasClean, cause) => {
          expectTypeOf(code).toEqualTypeOf<number>();
          expectTypeOf(reason).toEqualTypeOf<string>();
          expectTypeOf(wasClean).toEqualTypeOf<boolean>();
          expectTypeOf(cause).toEqualTypeOf<Error | null>();
        });
        ws.on('request', (request) => expectTypeOf(request).toEqualTypeOf<Request>());
        ws.on('rejected', (response) => expectTypeOf(response).toEqualTypeOf<RejectConnection>());
        ws.on('rejected-data', (data) => expectTypeOf(data).toEqualTypeOf<RejectData>());
        ws.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>());
        expectTypeOf<WebSocketDuplexListener<'close'>>().toEqualTypeOf<
          (code: number, reason: string, wasClean: boolean, cause: Error | null) => void
        >();
        expectTypeOf(ws.emit('open')).toEqualTypeOf<boolean>();
        expectTypeOf(ws.listenerCount('message')).toEqualTypeOf<number>();

        // @ts-expect-error: 'mesage' is not an event of WebSocketDuplex
        ws.on('mesage', () => undefined);
        // @ts-expect-error: 'opened' is not an event either
        ws.once('opened', () => undefined);
        // @ts-expect-error: 'message' listeners get (string | Buffer, boolean), not a number
        ws.on('message', (data: number) => data);
        // @ts-expect-error: 'close' passes a number code first
        ws.on('close', (code: string) => code);
        // @ts-expect-error: emit checks the arguments of the event
        ws.emit('message', 42, false);
      }
      expect(typeof typeChecks).to.equal('function');
    });
  });
});
