/**
 * The server's decision on an upgrade request: the `accept` option (sync or async), a
 * 'request' listener calling `accept()` / `reject()`, or by default acceptance without a
 * subprotocol. A hook that throws or rejects is the application's failure, not the
 * peer's: the client gets 500 and the stream's 'close' carries the error as its cause.
 */
import type { AcceptConnectionInit, Headers, RequestEvent } from '../events';
import type { AcceptDecision } from './options';

/** What a decision is applied to. */
export interface DecisionTarget {
  /** True while this request still waits for a decision (the stream is alive). */
  awaits(request: RequestEvent): boolean;
  /** Accept with these fields. */
  accept(init: AcceptConnectionInit): void;
  /** Reject with this response. */
  reject(statusCode: number, body: string | Buffer, headers: Headers): void;
  /** The hook failed: answer 500 and close with the error as the cause. */
  hookFailed(error: Error): void;
}

/** Run the `accept` hook for a request and apply what it decides (now or when its promise settles). */
export function decide(
  request: RequestEvent,
  hook: (request: RequestEvent) => AcceptDecision | Promise<AcceptDecision>,
  target: DecisionTarget,
): void {
  let decision: AcceptDecision | Promise<AcceptDecision>;
  try {
    decision = hook(request);
  } catch (error) {
    target.hookFailed(asError(error));
    return;
  }
  if (isPromiseLike(decision)) {
    // Any thenable (a Promise from another realm too), never taken for an acceptance object.
    decision.then(
      (d) => apply(request, d, target),
      (error: unknown) => {
        if (target.awaits(request)) target.hookFailed(asError(error));
      },
    );
  } else apply(request, decision, target);
}

function apply(request: RequestEvent, decision: AcceptDecision, target: DecisionTarget): void {
  if (!target.awaits(request)) return;
  try {
    applyDecision(decision, target);
  } catch (error) {
    // An invalid decision (a subprotocol the client did not offer, a bad status ...).
    target.hookFailed(asError(error));
  }
}

function applyDecision(decision: AcceptDecision, target: DecisionTarget): void {
  if (decision === false || (typeof decision === 'object' && decision.accept === false)) {
    const d = typeof decision === 'object' && decision.accept === false ? decision : { accept: false as const };
    target.reject(d.statusCode ?? 403, d.body ?? '', d.headers ?? []);
    return;
  }
  const init: AcceptConnectionInit & { accept?: true } = typeof decision === 'object' ? { ...decision } : {};
  delete init.accept;
  target.accept(init);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function isPromiseLike(value: unknown): value is PromiseLike<AcceptDecision> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
