/**
 * The numeric `readyState` of a `WebSocketDuplex`, as `ws` and the browser's WebSocket
 * have it, beside the core's `state` (`ConnectionState`, which says more: who closed
 * first, a rejected handshake). The constants are static members of the class and
 * members of every instance (`WebSocketDuplex.OPEN`, `ws.OPEN`), as in `ws`.
 */
import type { ConnectionStateValue } from '../connection';
import type {} from './websocket-duplex';

/** The four ready states: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
export const READY_STATES = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const satisfies Record<
  string,
  ReadyState
>;

/** A `readyState` value: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
export type ReadyState = 0 | 1 | 2 | 3;

/**
 * The ready state of a stream: CLOSED once it is destroyed ('close' follows, or came);
 * CONNECTING during the opening handshake; OPEN while the core is OPEN; CLOSING from
 * the first close frame (either way), a failure or a refused handshake until then.
 */
export function readyStateOf(state: ConnectionStateValue, handshakeEnded: boolean, destroyed: boolean): ReadyState {
  if (destroyed) return READY_STATES.CLOSED;
  if (state === 'CONNECTING') return handshakeEnded ? READY_STATES.CLOSING : READY_STATES.CONNECTING;
  return state === 'OPEN' ? READY_STATES.OPEN : READY_STATES.CLOSING;
}

/** Put the constants on the class and on its prototype (so instances have them too). */
export function defineReadyStates(target: { prototype: object }): void {
  for (const [name, value] of Object.entries(READY_STATES)) {
    const property = { value, enumerable: true, writable: false, configurable: false };
    Object.defineProperty(target, name, property);
    Object.defineProperty(target.prototype, name, property);
  }
}

// The types of the constants defined above: on instances, and static on the class.
declare module './websocket-duplex' {
  // On every instance (no TSDoc here: the class's own comment is the one typedoc shows).
  interface WebSocketDuplex {
    /** `readyState` during the opening handshake: 0. */
    readonly CONNECTING: 0;
    /** `readyState` while messages may be sent and received: 1. */
    readonly OPEN: 1;
    /** `readyState` once the close handshake started (or the connection failed): 2. */
    readonly CLOSING: 2;
    /** `readyState` once the stream is done: 3. */
    readonly CLOSED: 3;
  }
  // eslint-disable-next-line @typescript-eslint/no-namespace -- the static side of the class
  namespace WebSocketDuplex {
    /** `readyState` during the opening handshake: 0. */
    const CONNECTING: 0;
    /** `readyState` while messages may be sent and received: 1. */
    const OPEN: 1;
    /** `readyState` once the close handshake started (or the connection failed): 2. */
    const CLOSING: 2;
    /** `readyState` once the stream is done: 3. */
    const CLOSED: 3;
  }
}
