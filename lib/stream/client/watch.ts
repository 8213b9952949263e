/**
 * Listeners that come and go together: a stage of a connection attempt listens to its
 * socket (or stream) and to the attempt's signal, and removes every one of them when it
 * settles, whichever way. One place for that bookkeeping, so no stage can forget one.
 */
import type { EventEmitter } from 'node:events';

/** Event name → listener. */
export type Handlers = Readonly<Record<string, (...args: never[]) => void>>;

/**
 * Attach `handlers` to `emitter`, and `onAbort` to `signal` (once) when both are given.
 * Returns the function that detaches them all (calling it again does nothing).
 */
export function watch(
  emitter: EventEmitter,
  handlers: Handlers,
  signal?: AbortSignal,
  onAbort?: () => void,
): () => void {
  const pairs = Object.entries(handlers) as Array<[string, (...args: unknown[]) => void]>;
  for (const [event, handler] of pairs) emitter.on(event, handler);
  if (signal !== undefined && onAbort !== undefined) signal.addEventListener('abort', onAbort, { once: true });
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    for (const [event, handler] of pairs) emitter.off(event, handler);
    if (signal !== undefined && onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  };
}

/** `promise`, or a rejection with the signal's reason once it aborts (at once when it already has). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
