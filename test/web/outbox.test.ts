/**
 * Mirror test for lib/web/outbox: the sending side of the WHATWG `WebSocket` (order behind
 * Blobs, bytes taken at `send()`, `bufferedAmount` by turns), against a recording stand-in
 * for the Duplex.
 */
import { expect } from 'chai';
import { Blob } from 'node:buffer';
import type { WebSocketDuplex } from '../../lib/index';
import { Outbox } from '../../lib/web/outbox';
import { until } from '../helpers/net';

/** What the outbox calls on its Duplex, recorded; `held` plays the transport's buffer. */
function fakeDuplex() {
  const sent: Array<string | [string, number?, string?]> = [];
  const duplex = {
    held: 0,
    destroyed: false,
    get bufferedAmount() {
      return duplex.held;
    },
    send(data: string | Uint8Array, options: { binary: boolean }) {
      sent.push(options.binary ? `bytes:${Buffer.from(data as Uint8Array).toString('hex')}` : `text:${data as string}`);
      return true;
    },
    close(code: number, reason: string) {
      sent.push(['close', code, reason]);
    },
    terminate() {
      sent.push(['terminate']);
    },
  };
  return { duplex, sent, as: duplex as unknown as WebSocketDuplex };
}

const nextTask = () => new Promise((resolve) => setImmediate(resolve));

describe('web/outbox', () => {
  it('sends in the order of send(): what comes after a Blob, the close too, waits for its bytes', async () => {
    const { sent, as } = fakeDuplex();
    const outbox = new Outbox();
    outbox.attach(as);
    outbox.send('one', true);
    outbox.send(new Blob(['two']), true);
    const bytes = new Uint8Array([1, 2, 3, 4]);
    outbox.send(bytes.subarray(1, 3), true); // a view: exactly its window
    bytes[1] = 9; // after send(): the bytes as they were
    outbox.send(42 as unknown as string, true); // anything else: its string
    outbox.close(1000, 'bye');
    expect(sent).to.deep.equal(['text:one']); // the rest waits for the Blob
    await until(() => sent.length === 5);
    expect(sent).to.deep.equal(['text:one', 'bytes:74776f', 'bytes:0203', 'text:42', ['close', 1000, 'bye']]);
  });

  it('without a Blob waiting, a send and a close go out at once', () => {
    const { sent, as } = fakeDuplex();
    const outbox = new Outbox();
    outbox.attach(as);
    outbox.send(new Uint8Array([255]).buffer, true);
    outbox.close(1005, '');
    expect(sent).to.deep.equal(['bytes:ff', ['close', 1005, '']]);
  });

  it('bufferedAmount: bytes of this turn count whole; of earlier turns, only while the transport holds them', async () => {
    const { duplex, as } = fakeDuplex();
    const outbox = new Outbox();
    outbox.attach(as);
    outbox.send('abc', true);
    outbox.send('é', true); // 2 bytes of UTF-8
    duplex.held = 0; // the transport took everything at once
    expect(outbox.bufferedAmount).to.equal(5); // not in the turn that sent them
    outbox.nextTurn();
    expect(outbox.bufferedAmount).to.equal(0);
    outbox.send(new Uint8Array(10), true);
    duplex.held = 4; // the transport still holds some
    outbox.nextTurn();
    expect(outbox.bufferedAmount).to.equal(4);
    duplex.held = 10; // never more than was sent
    expect(outbox.bufferedAmount).to.equal(4);
  });

  it('reading bufferedAmount while bytes count makes a turn, so a reader polling it sees it drop', async () => {
    const { duplex, as } = fakeDuplex();
    const outbox = new Outbox();
    outbox.attach(as);
    outbox.send('x'.repeat(100), true);
    duplex.held = 0;
    expect(outbox.bufferedAmount).to.equal(100);
    await nextTask();
    expect(outbox.bufferedAmount).to.equal(0);
  });

  it('what is sent once the close started is counted for good and never sent', async () => {
    const { sent, as } = fakeDuplex();
    const outbox = new Outbox();
    outbox.attach(as);
    outbox.send('late', false);
    outbox.send(new Blob(['more']), false);
    outbox.nextTurn();
    await nextTask();
    expect(outbox.bufferedAmount).to.equal(8);
    expect(sent).to.deep.equal([]);
  });
});
