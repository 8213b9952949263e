/**
 * The extension contract (RFC 6455 section 9) as the frame layer honours it, shown with
 * a toy extension that claims RSV3 and flips bit 0x20 of every payload byte of the
 * messages it marks.
 */
import { expect } from 'chai';
import { CloseConnection, Connection, ConnectionType, RemoteProtocolError, TextMessage } from '../../lib/index';
import type { Extension, ExtensionParams } from '../../lib/extensions/extension';
import { hex } from '../helpers/bytes';

const RSV2 = 0x20;
const RSV3 = 0x10;

interface Toy extends Extension {
  readonly calls: string[];
}

function toy(options: { enabled?: boolean; failOn?: number } = {}): Toy {
  const calls: string[] = [];
  let marked = false;
  const flip = (data: Buffer): Buffer => Buffer.from(data.map((b) => b ^ 0x20));
  return {
    name: 'x-toy',
    rsvBits: RSV3,
    calls,
    enabled: () => options.enabled ?? true,
    offer: () => true,
    accept: (_offer: ExtensionParams) => true,
    finalize: () => undefined,
    inboundHeader(opcode, rsv) {
      calls.push(`header ${opcode} ${rsv}`);
      if (opcode >= 0x8) return 0;
      if (opcode !== 0x0) marked = (rsv & RSV3) !== 0;
      return rsv & RSV3;
    },
    inboundPayload(data) {
      calls.push(`payload ${data.length}`);
      if (options.failOn !== undefined && data.includes(options.failOn)) {
        throw new RemoteProtocolError('toy: byte refused', { closeCode: 1007 });
      }
      return marked ? flip(data) : data;
    },
    inboundComplete(fin) {
      calls.push(`complete ${fin}`);
      return null;
    },
    outbound(opcode, rsv, data) {
      if (opcode >= 0x8) return { rsv, data };
      return { rsv: rsv | RSV3, data: flip(data) };
    },
    close() {
      calls.push('close');
    },
  };
}

/** Events of a client that receives `bytes`. */
function receive(extension: Extension, bytes: Buffer) {
  const client = new Connection(ConnectionType.CLIENT, { extensions: [extension] });
  client.receiveData(bytes);
  return [...client.events()];
}

describe('extensions/extension', () => {
  it('RFC 6455 9: outbound sets the extension RSV bit and transforms the payload, byte for byte', () => {
    const server = new Connection(ConnectionType.SERVER, { extensions: [toy()] });
    // "Hi" = 48 69, flipped = 68 49; FIN | RSV3 | TEXT = 0x91
    expect(server.send(new TextMessage({ data: 'Hi' })).equals(hex('91 02 68 49'))).to.equal(true);
  });

  it('RFC 6455 5.2: an RSV bit the extension claims is accepted, and its hooks run in order', () => {
    const ext = toy();
    const events = receive(ext, hex('91 02 68 49'));
    expect(events).to.have.length(1);
    expect((events[0] as TextMessage).data).to.equal('Hi');
    expect(ext.calls).to.deep.equal(['header 1 16', 'payload 2', 'complete true']);
  });

  it('RFC 6455 5.2: a message without the bit passes through the extension unchanged', () => {
    const events = receive(toy(), hex('81 02 48 69'));
    expect((events[0] as TextMessage).data).to.equal('Hi');
  });

  it('RFC 6455 5.2: an RSV bit no extension claims fails the connection with 1002', () => {
    const events = receive(toy(), Buffer.from([0x80 | RSV2 | 0x1, 0x02, 0x48, 0x69])); // a1: RSV2, not the toy's
    expect(events.at(-1)).to.be.instanceOf(CloseConnection);
    expect((events.at(-1) as CloseConnection).code).to.equal(1002);
  });

  it('RFC 6455 9: an extension that is not enabled takes no part (its bit fails with 1002)', () => {
    const ext = toy({ enabled: false });
    const events = receive(ext, hex('91 02 68 49'));
    expect((events.at(-1) as CloseConnection).code).to.equal(1002);
    expect(ext.calls).to.deep.equal([]);
    const server = new Connection(ConnectionType.SERVER, { extensions: [ext] });
    expect(server.send(new TextMessage({ data: 'Hi' })).equals(hex('81 02 48 69'))).to.equal(true);
  });

  it('a hook that throws RemoteProtocolError with a closeCode closes the connection with that code', () => {
    const events = receive(toy({ failOn: 0x68 }), hex('91 02 68 49'));
    expect(events.at(-1)).to.be.instanceOf(CloseConnection);
    expect((events.at(-1) as CloseConnection).code).to.equal(1007);
  });

  it('control frames pass the extension untouched in both directions', () => {
    const server = new Connection(ConnectionType.SERVER, { extensions: [toy()] });
    // RFC 6455 5.5.1: a close frame with code 1000: 88 02 03 e8
    expect(server.send(new CloseConnection({ code: 1000 })).equals(hex('88 02 03 e8'))).to.equal(true);
  });
});
