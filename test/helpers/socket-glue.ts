/**
 * Test glue: drives a `WSConnection` over a real `net.Socket` (the way an application
 * without the Duplex wrapper would): bytes in -> receiveData -> events; send -> write.
 */
import * as net from 'node:net';
import { WSConnection, type WSEvent } from '../../lib/index';
import type { WSConnectionOptions } from '../../lib/ws-connection';

export class SocketDriver {
  readonly ws: WSConnection;
  readonly socket: net.Socket;
  readonly events: WSEvent[] = [];
  #waiters: Array<{ test: (e: WSEvent) => boolean; resolve: (e: WSEvent) => void }> = [];
  error: unknown = null;
  ended = false;

  constructor(socket: net.Socket, ws: WSConnection, onEvent?: (e: WSEvent, d: SocketDriver) => void) {
    this.socket = socket;
    this.ws = ws;
    socket.on('data', (chunk: Buffer) => {
      try {
        ws.receiveData(chunk);
        this.#drain(onEvent);
      } catch (error) {
        this.error = error;
        socket.destroy();
      }
    });
    socket.on('end', () => {
      this.ended = true;
      if (ws.state !== 'CLOSED') {
        try {
          ws.receiveData(null);
          this.#drain(onEvent);
        } catch (error) {
          this.error = error;
        }
      }
    });
    socket.on('error', (error) => {
      this.error = error;
    });
  }

  #drain(onEvent?: (e: WSEvent, d: SocketDriver) => void): void {
    for (const event of this.ws.events()) {
      this.events.push(event);
      onEvent?.(event, this);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test(event)) return true;
        w.resolve(event);
        return false;
      });
    }
  }

  send(event: WSEvent): void {
    this.socket.write(this.ws.send(event));
  }

  /** Resolve with the first event (already seen or future) that matches. */
  waitFor<T extends WSEvent>(test: (e: WSEvent) => e is T, timeoutMs?: number): Promise<T>;
  waitFor(test: (e: WSEvent) => boolean, timeoutMs?: number): Promise<WSEvent>;
  waitFor(test: (e: WSEvent) => boolean, timeoutMs = 5000): Promise<WSEvent> {
    const seen = this.events.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out; events so far: ${this.events.map((e) => e.type).join(', ')}; error: ${String(this.error)}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }
}

/** Connect a client WSConnection to host:port over TCP and send the Request. */
export function connectClient(
  port: number,
  request: WSEvent,
  options: WSConnectionOptions = {},
  onEvent?: (e: WSEvent, d: SocketDriver) => void,
): Promise<SocketDriver> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      const driver = new SocketDriver(socket, new WSConnection('client', options), onEvent);
      driver.send(request);
      resolve(driver);
    });
  });
}

/** A TCP server whose connections are driven by server WSConnections. */
export async function listenServer(
  onEvent: (e: WSEvent, d: SocketDriver) => void,
  options: WSConnectionOptions = {},
): Promise<{ port: number; drivers: SocketDriver[]; close: () => Promise<void> }> {
  const drivers: SocketDriver[] = [];
  const server = net.createServer((socket) => {
    drivers.push(new SocketDriver(socket, new WSConnection('server', options), onEvent));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    drivers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const d of drivers) d.socket.destroy();
        server.close(() => resolve());
      }),
  };
}
