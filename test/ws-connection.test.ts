/** `WSConnection`: the opening handshake (RFC 6455 section 4) in both roles. */
import { expect } from 'chai';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionEvent,
  type Extension,
  type ExtensionParams,
  type WSEvent,
} from '../lib/index';
import { ClientHandshake } from '../lib/handshake/client-handshake';
import { acceptKey } from '../lib/handshake/handshake';
import { ServerHandshake } from '../lib/handshake/server-handshake';
import { chunkings, masked, merge } from './helpers/bytes';
import { released } from './helpers/gc';

const CRLF = '\r\n';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** RFC 6455 1.2: the example client handshake. */
function request(extra: string[] = [], replace: Record<string, string | null> = {}): Buffer {
  const base: Record<string, string> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    Origin: 'http://example.com',
    'Sec-WebSocket-Protocol': 'chat, superchat',
    'Sec-WebSocket-Version': '13',
  };
  const lines = [replace['request-line'] ?? 'GET /chat HTTP/1.1'];
  for (const [name, value] of Object.entries(base)) {
    const v = name in replace ? replace[name] : value;
    if (v !== null && v !== undefined) lines.push(`${name}: ${v}`);
  }
  lines.push(...extra);
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF);
}

function serverReceiving(data: Buffer): { ws: WSConnection; events: WSEvent[] } {
  const ws = new WSConnection(ConnectionType.SERVER);
  ws.receiveData(data);
  return { ws, events: [...ws.events()] };
}

function rejection(data: Buffer): RemoteProtocolError {
  try {
    serverReceiving(data);
  } catch (error) {
    expect(error).to.be.instanceOf(RemoteProtocolError);
    return error as RemoteProtocolError;
  }
  throw new Error('expected the request to be rejected');
}

/** A minimal extension for negotiation tests: accepts offers without parameters. */
class FakeExtension implements Extension {
  readonly name: string;
  readonly rsvBits = 0x20;
  #enabled = false;
  seen: ExtensionParams[] = [];
  constructor(name = 'x-test') {
    this.name = name;
  }
  enabled(): boolean {
    return this.#enabled;
  }
  offer(): string | boolean {
    return 'mode=fast';
  }
  accept(offer: ExtensionParams): string | true | null {
    this.seen.push(offer);
    if (offer.params.some(([n]) => n === 'refuse')) return null;
    this.#enabled = true;
    return 'mode=fast';
  }
  finalize(response: ExtensionParams): void {
    if (response.params.some(([n]) => n === 'bogus')) {
      throw new RemoteProtocolError('bogus parameter', { code: 'ERR_BAD_EXTENSION' });
    }
    this.#enabled = true;
  }
  inboundHeader(_opcode: number, rsv: number): number {
    return rsv & 0x20;
  }
  inboundPayload(data: Buffer): Buffer {
    return data;
  }
  inboundComplete(): Buffer | null {
    return null;
  }
  outbound(_opcode: number, rsv: number, data: Buffer): { rsv: number; data: Buffer } {
    return { rsv, data };
  }
}

describe('WSConnection: server role (RFC 6455 4.2)', () => {
  it('1.3 the example key gives the example accept value', () => {
    expect(acceptKey(KEY)).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('4.2.1 the RFC 1.2 example request yields a Request event, under every chunking', () => {
    const data = request();
    for (const chunks of chunkings(data, 10)) {
      const ws = new WSConnection(ConnectionType.SERVER);
      const events: WSEvent[] = [];
      for (const c of chunks) {
        ws.receiveData(c);
        events.push(...ws.events());
      }
      expect(events).to.have.length(1);
      const req = events[0] as Request;
      expect(req).to.be.instanceOf(Request);
      expect(req.host).to.equal('server.example.com');
      expect(req.target).to.equal('/chat');
      expect(req.subprotocols).to.deep.equal(['chat', 'superchat']);
      expect(req.extraHeaders).to.deep.include(['Origin', 'http://example.com']);
      expect(ws.state).to.equal(ConnectionState.CONNECTING);
    }
  });

  it('4.2.2 accepting writes the RFC 1.3 example response, byte for byte', () => {
    const { ws } = serverReceiving(request());
    const out = ws.send(new AcceptConnection({ subprotocol: 'chat' }));
    expect(out.toString()).to.equal(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n\r\n',
    );
    expect(ws.state).to.equal(ConnectionState.OPEN);
  });

  it('frames in the same chunk as the request are handed to the Connection', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(Buffer.concat([request(), masked({ opcode: 1, payload: 'early' })]));
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
    ws.send(new AcceptConnection());
    const events = [...ws.events()];
    expect(events.map((e) => e.type)).to.deep.equal(['text']);
    expect((events[0] as TextMessage).data).to.equal('early');
  });

  it('4.2.2 the subprotocol must be one the client offered', () => {
    const { ws } = serverReceiving(request());
    expect(() => ws.send(new AcceptConnection({ subprotocol: 'mqtt' })))
      .to.throw(LocalProtocolError)
      .with.property('code', 'ERR_INVALID_SUBPROTOCOL');
  });

  const rejections: Array<[string, Buffer, number, string?]> = [
    ['4.1 a POST request', request([], { 'request-line': 'POST /chat HTTP/1.1' }), 405],
    ['4.1 HTTP/1.0', request([], { 'request-line': 'GET /chat HTTP/1.0' }), 505],
    ['4.2.1 no Host', request([], { Host: null }), 400],
    ['4.2.1 two Host headers', request(['Host: other.example']), 400],
    ['4.2.1 no Upgrade', request([], { Upgrade: null }), 426],
    ['4.2.1 Upgrade is not websocket', request([], { Upgrade: 'h2c' }), 426],
    ['4.2.1 Connection lacks upgrade', request([], { Connection: 'keep-alive' }), 400],
    ['4.2.1 no Sec-WebSocket-Key', request([], { 'Sec-WebSocket-Key': null }), 400],
    ['4.2.1 a key of 15 bytes', request([], { 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), 400],
    ['4.2.1 a key of 17 bytes', request([], { 'Sec-WebSocket-Key': Buffer.alloc(17).toString('base64') }), 400],
    ['4.2.1 a key that is not base64', request([], { 'Sec-WebSocket-Key': 'not base64 at all!!!!!==' }), 400],
    ['4.2.1 two keys', request([`Sec-WebSocket-Key: ${KEY}`]), 400],
    ['4.4 version 8', request([], { 'Sec-WebSocket-Version': '8' }), 426, '13'],
    ['4.4 no version', request([], { 'Sec-WebSocket-Version': null }), 426, '13'],
    ['4.2.1 an invalid subprotocol name', request([], { 'Sec-WebSocket-Protocol': 'a b' }), 400],
  ];
  for (const [name, data, status, versionHeader] of rejections) {
    it(`${name}: RemoteProtocolError with a ${status} rejection hint`, () => {
      const error = rejection(data);
      const hint = error.eventHint as RejectConnection;
      expect(hint).to.be.instanceOf(RejectConnection);
      expect(hint.statusCode).to.equal(status);
      expect(error.message).to.be.a('string').and.not.equal('');
      if (versionHeader !== undefined) expect(hint.headers).to.deep.include(['Sec-WebSocket-Version', versionHeader]);
    });
  }

  it('the connection header is matched as a token list, case-insensitively', () => {
    const { events } = serverReceiving(request([], { Connection: 'keep-alive, UPGRADE', Upgrade: 'WebSocket' }));
    expect(events.map((e) => e.type)).to.deep.equal(['request']);
  });

  it('a head over the size limit: 431, with a bounded buffer', () => {
    const ws = new WSConnection(ConnectionType.SERVER, { maxHeadSize: 1024 });
    const line = Buffer.from(`X-Filler: ${'a'.repeat(100)}\r\n`);
    let pushed = 0;
    const error = (() => {
      try {
        ws.receiveData(Buffer.from('GET / HTTP/1.1\r\n'));
        for (let i = 0; i < 1000; i++) {
          ws.receiveData(line);
          pushed += line.length;
        }
      } catch (e) {
        return e as RemoteProtocolError;
      }
      return null;
    })();
    expect(error).to.be.instanceOf(RemoteProtocolError);
    expect((error!.eventHint as RejectConnection).statusCode).to.equal(431);
    expect(pushed).to.be.below(1024 + line.length);
  });

  it('too many headers: 431', () => {
    const ws = new WSConnection(ConnectionType.SERVER, { maxHeaders: 10 });
    const extra = Array.from({ length: 10 }, (_, i) => `X-H${i}: v`);
    expect(() => ws.receiveData(request(extra)))
      .to.throw(RemoteProtocolError)
      .with.nested.property('eventHint.statusCode', 431);
  });

  it('offered extensions are parsed (RFC 6455 9.1), quoted values included', () => {
    const { events } = serverReceiving(
      request(['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-test; mode="fast"']),
    );
    const req = events[0] as Request;
    expect(req.extensions).to.deep.equal([
      { name: 'permessage-deflate', params: [['client_max_window_bits', null]] },
      { name: 'x-test', params: [['mode', 'fast']] },
    ]);
  });

  it('9.1 negotiation: the first acceptable offer wins, the response names it', () => {
    const { ws } = serverReceiving(request(['Sec-WebSocket-Extensions: x-test; refuse, x-test; mode=fast']));
    const ext = new FakeExtension();
    const out = ws.send(new AcceptConnection({ extensions: [ext] })).toString();
    expect(ext.seen).to.have.length(2);
    expect(out).to.include('Sec-WebSocket-Extensions: x-test; mode=fast\r\n');
    expect(ws.connection!.extensions).to.deep.equal([ext]);
  });

  it('9.1 an extension the client did not offer is not enabled', () => {
    const { ws } = serverReceiving(request());
    const ext = new FakeExtension();
    const out = ws.send(new AcceptConnection({ extensions: [ext] })).toString();
    expect(out).to.not.include('Sec-WebSocket-Extensions');
    expect(ws.connection!.extensions).to.deep.equal([]);
  });

  it('rejecting without a body: CLOSED, Content-Length: 0', () => {
    const { ws } = serverReceiving(request());
    const out = ws.send(new RejectConnection({ statusCode: 403 })).toString();
    expect(out).to.equal('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });

  it('rejecting with a body: REJECTING, then RejectData until bodyFinished, then CLOSED', () => {
    const { ws } = serverReceiving(request());
    const head = ws.send(new RejectConnection({ statusCode: 400, headers: [['Content-Length', '5']], hasBody: true }));
    expect(head.toString()).to.equal('HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\n');
    expect(ws.state).to.equal(ConnectionState.REJECTING);
    expect(ws.send(new RejectData({ data: Buffer.from('no'), bodyFinished: false })).toString()).to.equal('no');
    expect(ws.state).to.equal(ConnectionState.REJECTING);
    expect(ws.send(new RejectData({ data: Buffer.from('pe') })).toString()).to.equal('pe');
    expect(ws.state).to.equal(ConnectionState.CLOSED);
    expect(() => ws.send(new RejectData({ data: Buffer.from('x') }))).to.throw(LocalProtocolError);
  });

  it('the hint of a failed handshake can be sent back', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    let hint: RejectConnection | null = null;
    try {
      ws.receiveData(request([], { 'Sec-WebSocket-Version': '7' }));
    } catch (error) {
      hint = (error as RemoteProtocolError).eventHint as RejectConnection;
    }
    expect(ws.send(hint!).toString()).to.equal(
      'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('refuses CR/LF injection through extra headers', () => {
    const { ws } = serverReceiving(request());
    expect(() => ws.send(new AcceptConnection({ extraHeaders: [['X-Evil', 'a\r\nSet-Cookie: x=1']] })))
      .to.throw(LocalProtocolError)
      .with.property('code', 'ERR_INVALID_HEADER');
  });

  it('initiateUpgradeConnection takes a request parsed elsewhere (Node rawHeaders)', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.initiateUpgradeConnection(
      [
        'Host',
        'h',
        'Upgrade',
        'websocket',
        'Connection',
        'Upgrade',
        'Sec-WebSocket-Key',
        KEY,
        'Sec-WebSocket-Version',
        '13',
      ],
      '/path?q=1',
    );
    const [req] = [...ws.events()] as Request[];
    expect(req!.target).to.equal('/path?q=1');
    expect(ws.send(new AcceptConnection()).toString()).to.include('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(() => new WSConnection(ConnectionType.SERVER).initiateUpgradeConnection([['Host', 'h']], '/')).to.throw(
      RemoteProtocolError,
    );
  });

  it('EOF during the handshake is a RemoteProtocolError', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(request().subarray(0, 20));
    expect(() => ws.receiveData(null)).to.throw(RemoteProtocolError, /closed during the opening handshake/);
  });

  it('cannot send messages before the handshake', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    expect(() => ws.send(new TextMessage({ data: 'x' }))).to.throw(LocalProtocolError, /CONNECTING/);
    expect(() => ws.send(new Request({ host: 'h', target: '/' }))).to.throw(LocalProtocolError);
  });
});

describe('WSConnection: client role (RFC 6455 4.1)', () => {
  function client(req: Partial<ConstructorParameters<typeof Request>[0]> = {}) {
    const ws = new WSConnection(ConnectionType.CLIENT);
    const out = ws.send(new Request({ host: 'server.example.com', target: '/chat', ...req })).toString();
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(out)![1]!;
    return { ws, out, key };
  }
  function response(
    key: string,
    extra: string[] = [],
    status = '101 Switching Protocols',
    omit: string[] = [],
  ): Buffer {
    const headers: Array<[string, string]> = [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', acceptKey(key)],
    ];
    const lines = [
      `HTTP/1.1 ${status}`,
      ...headers.filter(([n]) => !omit.includes(n)).map(([n, v]) => `${n}: ${v}`),
      ...extra,
    ];
    return Buffer.from(lines.join(CRLF) + CRLF + CRLF);
  }

  it('4.1 the request: GET, Host, Upgrade, Connection, a fresh 16-byte key, version 13', () => {
    const { out, key } = client({
      subprotocols: ['chat', 'superchat'],
      extraHeaders: [['Origin', 'http://example.com']],
    });
    expect(
      out.startsWith('GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'),
    ).to.equal(true);
    expect(Buffer.from(key, 'base64')).to.have.length(16);
    expect(out).to.include('Sec-WebSocket-Version: 13\r\n');
    expect(out).to.include('Sec-WebSocket-Protocol: chat, superchat\r\n');
    expect(out).to.include('Origin: http://example.com\r\n');
    expect(out.endsWith('\r\n\r\n')).to.equal(true);
    expect(client().key).to.not.equal(key);
  });

  it('4.1 a valid 101 yields AcceptConnection and OPEN, under every chunking, with frames after it', () => {
    // Every client has its own key, so the chunkings are computed once (the response
    // length does not depend on the key) and applied to each client's response.
    const frameBytes = Buffer.from('81026869', 'hex');
    const sample = Buffer.concat([response(KEY, ['Sec-WebSocket-Protocol: chat']), frameBytes]);
    for (const chunks of chunkings(sample, 5)) {
      const c = new WSConnection(ConnectionType.CLIENT);
      const req = c.send(new Request({ host: 'h', target: '/', subprotocols: ['chat'] })).toString();
      const k = /Sec-WebSocket-Key: (\S+)\r\n/.exec(req)![1]!;
      const bytes = Buffer.concat([response(k, ['Sec-WebSocket-Protocol: chat']), frameBytes]);
      expect(bytes.length).to.equal(sample.length);
      const events: WSEvent[] = [];
      let at = 0;
      for (const piece of chunks) {
        c.receiveData(bytes.subarray(at, at + piece.length));
        at += piece.length;
        events.push(...c.events());
      }
      expect(events[0]).to.be.instanceOf(AcceptConnection);
      expect((events[0] as AcceptConnection).subprotocol).to.equal('chat');
      expect(merge(events.slice(1) as ConnectionEvent[])).to.deep.equal([{ type: 'text', data: 'hi' }]);
      expect(c.state).to.equal(ConnectionState.OPEN);
    }
  });

  const failures: Array<[string, (key: string) => Buffer]> = [
    ['a wrong Sec-WebSocket-Accept', () => response(KEY)],
    ['no Upgrade header', (k) => response(k, [], undefined, ['Upgrade'])],
    ['no Connection header', (k) => response(k, [], undefined, ['Connection'])],
    ['no Sec-WebSocket-Accept', (k) => response(k, [], undefined, ['Sec-WebSocket-Accept'])],
    ['a subprotocol we did not offer', (k) => response(k, ['Sec-WebSocket-Protocol: mqtt'])],
    ['an extension we did not offer', (k) => response(k, ['Sec-WebSocket-Extensions: x-unknown'])],
  ];
  for (const [name, make] of failures) {
    it(`4.1 ${name}: RemoteProtocolError`, () => {
      const { ws, key } = client({ subprotocols: ['chat'] });
      expect(() => ws.receiveData(make(key))).to.throw(RemoteProtocolError);
    });
  }

  it('9.1 an accepted extension is finalized and enabled; a bad response fails', () => {
    const ext = new FakeExtension();
    const { ws, out, key } = client({ extensions: [ext] });
    expect(out).to.include('Sec-WebSocket-Extensions: x-test; mode=fast\r\n');
    ws.receiveData(response(key, ['Sec-WebSocket-Extensions: x-test; mode=fast']));
    const [accept] = [...ws.events()] as AcceptConnection[];
    expect(accept!.extensions).to.deep.equal([ext]);
    expect(ext.enabled()).to.equal(true);

    const bad = client({ extensions: [new FakeExtension()] });
    expect(() => bad.ws.receiveData(response(bad.key, ['Sec-WebSocket-Extensions: x-test; bogus']))).to.throw(
      RemoteProtocolError,
      /bogus/,
    );
  });

  it('9.1 the same extension accepted twice fails', () => {
    const { ws, key } = client({ extensions: [new FakeExtension()] });
    expect(() => ws.receiveData(response(key, ['Sec-WebSocket-Extensions: x-test, x-test']))).to.throw(
      RemoteProtocolError,
      /twice/,
    );
  });

  it('4.1 a non-101 response: RejectConnection then RejectData by Content-Length, then CLOSED', () => {
    const data = Buffer.from(
      'HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nforbidden',
    );
    for (const chunks of chunkings(data, 5)) {
      const { ws } = client();
      const events: WSEvent[] = [];
      for (const c of chunks) {
        ws.receiveData(c);
        events.push(...ws.events());
      }
      const reject = events[0] as RejectConnection;
      expect(reject).to.be.instanceOf(RejectConnection);
      expect([reject.statusCode, reject.hasBody]).to.deep.equal([403, true]);
      const body = Buffer.concat(events.slice(1).map((e) => (e as RejectData).data)).toString();
      expect(body).to.equal('forbidden');
      expect((events.at(-1) as RejectData).bodyFinished).to.equal(true);
      expect(ws.state).to.equal(ConnectionState.CLOSED);
    }
  });

  it('4.1 a chunked rejection body is decoded', () => {
    const { ws } = client();
    ws.receiveData(
      Buffer.from('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'),
    );
    const events = [...ws.events()];
    expect(Buffer.concat(events.slice(1).map((e) => (e as RejectData).data)).toString()).to.equal('abcde');
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });

  it('4.1 a rejection body that lasts until EOF', () => {
    const { ws } = client();
    ws.receiveData(Buffer.from('HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\nmoved'));
    ws.receiveData(null);
    const events = [...ws.events()];
    expect((events[0] as RejectConnection).headers).to.deep.include(['Location', '/elsewhere']);
    expect(Buffer.concat(events.slice(1).map((e) => (e as RejectData).data)).toString()).to.equal('moved');
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });

  it('a rejection without a body (Content-Length: 0) is CLOSED at once', () => {
    const { ws } = client();
    ws.receiveData(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    const events = [...ws.events()];
    expect(events).to.have.length(1);
    expect((events[0] as RejectConnection).hasBody).to.equal(false);
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });

  it('a client cannot send a Request twice, nor accept', () => {
    const { ws } = client();
    expect(() => ws.send(new Request({ host: 'h', target: '/' }))).to.throw(LocalProtocolError);
    expect(() => ws.send(new AcceptConnection())).to.throw(LocalProtocolError);
  });

  it('refuses CR/LF injection through the target, host, extra headers and subprotocols', () => {
    const make = (r: Partial<ConstructorParameters<typeof Request>[0]>) => () =>
      new WSConnection(ConnectionType.CLIENT).send(new Request({ host: 'h', target: '/', ...r }));
    expect(make({ target: '/ HTTP/1.1\r\nX: y' })).to.throw(LocalProtocolError);
    expect(make({ host: 'h\r\nX: y' })).to.throw(LocalProtocolError);
    expect(make({ extraHeaders: [['X-A', 'b\nc']] })).to.throw(LocalProtocolError);
    expect(make({ extraHeaders: [['X A', 'b']] })).to.throw(LocalProtocolError);
    expect(make({ subprotocols: ['chat\r\nX: y'] })).to.throw(LocalProtocolError);
  });

  it('after the handshake, the close handshake works through WSConnection', () => {
    const { ws, key } = client();
    ws.receiveData(response(key));
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['accept']);
    ws.send(new CloseConnection({ code: 1000 }));
    expect(ws.state).to.equal(ConnectionState.LOCAL_CLOSING);
    ws.receiveData(Buffer.from('880203e8', 'hex'));
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['close']);
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });
});

describe('WSConnection: regressions', () => {
  it('regression: a malformed request line yields a 400 hint that can be sent', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    let hint: RejectConnection | undefined;
    try {
      ws.receiveData(Buffer.from('GARBAGE\r\n\r\n'));
    } catch (error) {
      expect(error).to.be.instanceOf(RemoteProtocolError);
      hint = (error as RemoteProtocolError).eventHint;
    }
    expect(hint).to.be.instanceOf(RejectConnection);
    expect(ws.send(hint!).toString()).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(ws.state).to.equal(ConnectionState.CLOSED);
  });

  it('regression: frames the client sends while the server decides are kept, not an error', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(request());
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
    ws.receiveData(masked({ opcode: 1, payload: 'early' }));
    ws.receiveData(masked({ opcode: 1, payload: 'bird' }));
    ws.send(new AcceptConnection());
    expect(merge([...ws.events()] as ConnectionEvent[])).to.deep.equal([
      { type: 'text', data: 'early' },
      { type: 'text', data: 'bird' },
    ]);
  });

  it('early data beyond 64 KiB before the answer is refused with a 400 hint', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(request());
    expect(() => ws.receiveData(Buffer.alloc(70 * 1024)))
      .to.throw(RemoteProtocolError)
      .with.nested.property('eventHint.statusCode', 400);
  });
});

const accept101 = (key: string) =>
  Buffer.from(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );

describe('WSConnection: the handshake, then the Connection', () => {
  it('the role picks the handshake: initiateUpgradeConnection is for servers', () => {
    const ws = new WSConnection(ConnectionType.CLIENT);
    expect(ws.type).to.equal(ConnectionType.CLIENT);
    expect(new WSConnection(ConnectionType.SERVER).type).to.equal(ConnectionType.SERVER);
    expect(() => ws.initiateUpgradeConnection([['Host', 'h']], '/'))
      .to.throw(LocalProtocolError, 'initiateUpgradeConnection is for HTTP/1.1 servers')
      .with.property('code', 'ERR_INVALID_STATE');
    expect(() => new WSConnection('browser' as typeof ConnectionType.CLIENT)).to.throw(
      LocalProtocolError,
      /unknown connection type/,
    );
  });

  it('once OPEN, handshake calls are refused with the state of the Connection', () => {
    const { ws } = serverReceiving(request());
    expect(ws.dataToSend()).to.deep.equal([]);
    ws.send(new AcceptConnection());
    expect(() => ws.send(new AcceptConnection())).to.throw(LocalProtocolError, "cannot send 'accept' in state OPEN");
    ws.send(new CloseConnection({ code: 1000 }));
    expect(() => ws.initiateUpgradeConnection([['Host', 'h']], '/')).to.throw(
      LocalProtocolError,
      'cannot initiate an upgrade in state LOCAL_CLOSING',
    );
  });

  it('a Uint8Array view that is not a Buffer is read at its offset during the handshake', () => {
    const bytes = request();
    const backing = new Uint8Array(bytes.length + 7);
    backing.set(bytes, 3);
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(new Uint8Array(backing.buffer, 3, bytes.length));
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
  });

  it('the Connection gets the options: maskKey, autoPong, maxMessageSize (frames after the 101 included)', () => {
    const maskKey = () => Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const ws = new WSConnection(ConnectionType.CLIENT, { maskKey, autoPong: true, maxMessageSize: 3 });
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(ws.send(new Request({ host: 'h', target: '/' })).toString())![1]!;
    // RFC 6455 5.7: an unmasked ping "Hello" after the 101, in the same chunk.
    ws.receiveData(Buffer.concat([accept101(key), Buffer.from('890548656c6c6f', 'hex')]));
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['accept', 'ping']);
    // RFC 6455 5.7: the masked pong "Hello" with the example key 37 fa 21 3d.
    expect(Buffer.concat(ws.dataToSend()).toString('hex')).to.equal('8a8537fa213d7f9f4d5158');
    ws.receiveData(Buffer.from('81046869686f', 'hex'));
    const [close] = [...ws.events()] as CloseConnection[];
    expect(close!.code).to.equal(1009);
  });
});

describe('WSConnection: an open connection keeps nothing of its handshake', () => {
  // A WeakRef to the handshake object, taken where it hands out its first event (the
  // object is private); restored after each test.
  function watch(klass: typeof ServerHandshake | typeof ClientHandshake): {
    ref: () => WeakRef<object> | null;
    restore: () => void;
  } {
    const original = klass.prototype.nextEvent;
    let ref: WeakRef<object> | null = null;
    klass.prototype.nextEvent = function (this: object) {
      ref ??= new WeakRef(this);
      return original.call(this as never);
    } as typeof original;
    return { ref: () => ref, restore: () => void (klass.prototype.nextEvent = original) };
  }

  it('server: once its events are taken, the handshake (its parser, request, queue) is released', async () => {
    const watched = watch(ServerHandshake);
    try {
      const ws = new WSConnection(ConnectionType.SERVER);
      ws.receiveData(Buffer.concat([request(), masked({ opcode: 1, payload: 'early' })]));
      expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
      ws.send(new AcceptConnection());
      expect(await released(watched.ref()!), 'held while its queue may hold events').to.equal(false);
      expect([...ws.events()].map((e) => e.type)).to.deep.equal(['text']);
      expect(await released(watched.ref()!), 'released once the Connection took over').to.equal(true);
      // Everything that asked the handshake still answers.
      expect(ws.state).to.equal(ConnectionState.OPEN);
      expect(ws.http2).to.equal(false);
      expect(() => ws.initiateUpgradeConnection([['Host', 'h']], '/')).to.throw(
        LocalProtocolError,
        'cannot initiate an upgrade in state OPEN',
      );
      ws.receiveData(masked({ opcode: 1, payload: 'later' }));
      expect([...ws.events()].map((e) => (e as TextMessage).data)).to.deep.equal(['later']);
    } finally {
      watched.restore();
    }
  });

  it('client: released after the AcceptConnection event was taken', async () => {
    const watched = watch(ClientHandshake);
    try {
      const ws = new WSConnection(ConnectionType.CLIENT);
      const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(ws.send(new Request({ host: 'h', target: '/' })).toString())![1]!;
      ws.receiveData(accept101(key));
      expect(ws.nextEvent()).to.be.instanceOf(AcceptConnection);
      expect(ws.nextEvent()).to.equal(null);
      expect(await released(watched.ref()!)).to.equal(true);
      expect(ws.state).to.equal(ConnectionState.OPEN);
      expect(ws.send(new TextMessage({ data: 'hi' }))).to.have.length(8);
    } finally {
      watched.restore();
    }
  });
});

describe('WSConnection.sendSplit', () => {
  it('once open, passes a large server payload on apart from its header; handshake events go whole, as send() makes them', () => {
    const ws = new WSConnection(ConnectionType.SERVER);
    ws.receiveData(request());
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
    const accept = ws.sendSplit(new AcceptConnection());
    expect(Buffer.isBuffer(accept)).to.equal(true);
    expect((accept as Buffer).toString()).to.match(/^HTTP\/1\.1 101 /);
    const data = Buffer.alloc(32 * 1024, 7);
    const parts = ws.sendSplit(new BytesMessage({ data })) as readonly [Buffer, Buffer];
    expect(parts[1]).to.equal(data);
    expect(parts[0].equals(Buffer.from([0x82, 0x7e, 0x80, 0x00]))).to.equal(true);
  });
});
