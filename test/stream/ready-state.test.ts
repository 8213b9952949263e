/**
 * Mirror test for lib/stream/ready-state: the numeric `readyState` and its constants, as
 * `ws` and the browser have them, from the core's state; and its course over real TCP.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import WebSocket from 'ws';
import { connect, ConnectionState, WebSocketDuplex } from '../../lib/index';
import { READY_STATES, readyStateOf } from '../../lib/stream/ready-state';
import { listen, once, until } from '../helpers/net';

describe('stream/ready-state', () => {
  it('the constants are 0..3, static on the class and on every instance, as in ws (and read-only)', () => {
    const ws = new WebSocketDuplex('server');
    const expected = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
    for (const [name, value] of Object.entries(expected)) {
      const key = name as keyof typeof expected;
      expect(WebSocketDuplex[key], `WebSocketDuplex.${name}`).to.equal(value);
      expect(ws[key], `ws.${name}`).to.equal(value);
      expect(WebSocket[key], `ws's WebSocket.${name}`).to.equal(value);
    }
    expect(() => ((WebSocketDuplex as unknown as Record<string, number>).OPEN = 5)).to.throw(TypeError);
    expect(READY_STATES).to.deep.equal(expected);
    ws.destroy();
  });

  it('readyStateOf: the core state, whether the handshake ended without opening, and destroyed', () => {
    const table: Array<[string, boolean, boolean, number]> = [
      [ConnectionState.CONNECTING, false, false, 0],
      [ConnectionState.CONNECTING, true, false, 2], // refused handshake, response on its way
      [ConnectionState.REJECTING, false, false, 2],
      [ConnectionState.OPEN, false, false, 1],
      [ConnectionState.LOCAL_CLOSING, false, false, 2],
      [ConnectionState.REMOTE_CLOSING, false, false, 2],
      [ConnectionState.CLOSED, true, false, 2], // lingering until the peer's EOF
      [ConnectionState.OPEN, false, true, 3],
      [ConnectionState.CONNECTING, false, true, 3],
    ];
    for (const [state, ended, destroyed, expected] of table) {
      expect(readyStateOf(state as 'OPEN', ended, destroyed), `${state} ${ended} ${destroyed}`).to.equal(expected);
    }
  });

  it('over TCP: CONNECTING, OPEN, CLOSING after close(), CLOSED in the close listener', async () => {
    const seen: number[] = [];
    const srv = await listen(
      net.createServer((socket) => {
        const ws = new WebSocketDuplex('server');
        seen.push(ws.readyState);
        ws.on('open', () => seen.push(ws.readyState));
        ws.on('close', () => {
          seen.push(ws.readyState);
          socket.destroy();
        });
        socket.pipe(ws).pipe(socket);
      }),
    );
    try {
      const pending = connect(`ws://127.0.0.1:${srv.port}/`);
      const client = await pending;
      expect(client.readyState).to.equal(WebSocketDuplex.OPEN);
      client.close();
      expect(client.readyState).to.equal(client.CLOSING);
      let inClose = -1;
      client.on('close', () => (inClose = client.readyState));
      await once(client, 'close');
      expect(inClose).to.equal(WebSocketDuplex.CLOSED);
      await until(() => seen.length === 3);
      expect(seen).to.deep.equal([0, 1, 3]);
    } finally {
      await srv.close();
    }
  });

  it('a client stream before its handshake completed is CONNECTING; terminate() makes it CLOSED', async () => {
    const ws = new WebSocketDuplex('client', { request: { host: 'x', target: '/' } });
    expect(ws.readyState).to.equal(ws.CONNECTING);
    ws.terminate();
    expect(ws.readyState).to.equal(ws.CLOSED);
    const [code] = await once<[number]>(ws, 'close');
    expect(code).to.equal(1006);
  });
});
