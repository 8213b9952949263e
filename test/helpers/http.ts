/**
 * Test helpers for the HTTP/1.1 layer of the handshake: the RFC 6455 1.2 example
 * handshake verbatim, a CRLF line joiner, and assertions on the error kinds.
 */
import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import { RejectConnectionEvent } from '../../lib/events';
import type { HeaderList } from '../../lib/handshake/http/headers';
import { hex } from './bytes';

/** The lines joined with CRLF after each, as latin1 bytes (`['']` at the end ends a head). */
export const crlf = (lines: string[]): Buffer => Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');

/** RFC 6455 1.2: the example client handshake, verbatim. */
export const RFC_REQUEST = crlf([
  'GET /chat HTTP/1.1',
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Origin: http://example.com',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Version: 13',
  '',
]);
/** The header fields of `RFC_REQUEST`, in order. */
export const RFC_REQUEST_HEADERS: HeaderList = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Origin', 'http://example.com'],
  ['Sec-WebSocket-Protocol', 'chat, superchat'],
  ['Sec-WebSocket-Version', '13'],
];

/** RFC 6455 1.2 / 1.3: the example server handshake, verbatim (its accept value is the one of 1.3). */
export const RFC_RESPONSE = crlf([
  'HTTP/1.1 101 Switching Protocols',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
  'Sec-WebSocket-Protocol: chat',
  '',
]);
/** The header fields of `RFC_RESPONSE`, in order. */
export const RFC_RESPONSE_HEADERS: HeaderList = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
  ['Sec-WebSocket-Protocol', 'chat'],
];

/** RFC 6455 5.7: a single-frame unmasked text message "Hello", as it may follow the 101. */
export const HELLO_FRAME = hex('81 05 48 65 6c 6c 6f');

/** Asserts a RemoteProtocolError with `code` and an eventHint rejecting with `status`. */
export function expectRemote(fn: () => unknown, code: string, status: number, message?: RegExp): RemoteProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(RemoteProtocolError);
  const err = caught as RemoteProtocolError;
  expect(err.code).to.equal(code);
  expect(err.eventHint).to.be.instanceOf(RejectConnectionEvent);
  expect((err.eventHint as RejectConnectionEvent).statusCode).to.equal(status);
  if (message) expect(err.message).to.match(message);
  return err;
}

/** Asserts a LocalProtocolError with `code` (and a message matching `message`). */
export function expectLocal(fn: () => unknown, code: string, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(LocalProtocolError);
  expect((caught as LocalProtocolError).code).to.equal(code);
  if (message) expect((caught as LocalProtocolError).message).to.match(message);
}
