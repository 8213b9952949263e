/**
 * The event side of the WHATWG `WebSocket` (websocket.ts): `CloseEvent` (Node 20 has
 * `Event` and `MessageEvent` but no `CloseEvent`), and the `onopen` / `onmessage` ...
 * event handler attributes as HTML defines them: setting one adds a listener in the
 * position of the first assignment, assigning again replaces the function and keeps the
 * position, `null` (or anything that is not a function) removes it.
 */

/** Fields of a `CloseEvent`. */
export interface CloseEventInit {
  /** As for any event. @defaultValue `false` */
  bubbles?: boolean;
  /** As for any event. @defaultValue `false` */
  cancelable?: boolean;
  /** The close code. @defaultValue `0` */
  code?: number;
  /** The close reason. @defaultValue `''` */
  reason?: string;
  /** Whether the closing handshake completed. @defaultValue `false` */
  wasClean?: boolean;
}

/** The `close` event of a `WebSocket` (the WebSockets standard's `CloseEvent`). */
export class CloseEvent extends Event {
  readonly #code: number;
  readonly #reason: string;
  readonly #wasClean: boolean;

  /** A close event of `type` (a WebSocket fires 'close'), with `init`'s fields. */
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#code = init.code ?? 0;
    this.#reason = init.reason ?? '';
    this.#wasClean = init.wasClean ?? false;
  }

  /** The close code: the peer's, 1005 when its close frame had none, 1006 when the connection was lost or failed. */
  get code(): number {
    return this.#code;
  }

  /** The close reason the peer sent. */
  get reason(): string {
    return this.#reason;
  }

  /** True when the closing handshake completed and the transport closed after it. */
  get wasClean(): boolean {
    return this.#wasClean;
  }
}

/** An event handler attribute's value. */
export type EventHandler<E extends Event = Event> = ((this: EventTarget, event: E) => unknown) | null;

/** The event handler attributes of one target: one listener per event type, made on first assignment. */
export class EventHandlers {
  readonly #target: EventTarget;
  readonly #handlers = new Map<string, { current: EventHandler; listener: (event: Event) => void }>();

  constructor(target: EventTarget) {
    this.#target = target;
  }

  /** The handler of `type`, or null. */
  get(type: string): EventHandler {
    return this.#handlers.get(type)?.current ?? null;
  }

  /** Set the handler of `type` (see the module comment). */
  set(type: string, value: unknown): void {
    const entry = this.#handlers.get(type);
    if (typeof value !== 'function') {
      if (entry === undefined) return;
      this.#handlers.delete(type);
      this.#target.removeEventListener(type, entry.listener);
      return;
    }
    if (entry !== undefined) {
      entry.current = value as EventHandler;
      return;
    }
    const target = this.#target;
    const added = {
      current: value as EventHandler,
      listener: (event: Event) => {
        const result = added.current?.call(target, event);
        if (result === false) event.preventDefault(); // HTML: a handler returning false cancels
      },
    };
    this.#handlers.set(type, added);
    target.addEventListener(type, added.listener);
  }
}
