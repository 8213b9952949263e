/**
 * Attacks around the close handshake, over real loopback sockets: a close reason that
 * is not UTF-8 gets close 1007, an invalid close code 1002, a 1-byte close body 1002;
 * frames and garbage after a close are ignored (no message, no exception, one close
 * reply); a peer that vanishes mid-message leaves a clean 1006.
 */
import { expect } from 'chai';
import { masked } from '../helpers/bytes';
import { sleep, until } from '../helpers/net';
import { Attacker, closeFrame, httpServer, netServer } from './helpers';

describe('attack: close frames and what follows them', function () {
  this.timeout(20_000);

  const closes = [
    { what: 'a close reason of invalid UTF-8 (c3 28)', frame: closeFrame(1000, Buffer.from([0xc3, 0x28])), code: 1007 },
    {
      what: 'a close reason with a lone surrogate (ed a0 80)',
      frame: closeFrame(1000, Buffer.from([0xed, 0xa0, 0x80])),
      code: 1007,
    },
    { what: 'close code 1005 on the wire', frame: closeFrame(1005), code: 1002 },
    { what: 'close code 999', frame: closeFrame(999), code: 1002 },
    { what: 'a 1-byte close body', frame: masked({ opcode: 0x8, payload: Buffer.from([0x03]) }), code: 1002 },
  ];
  for (const { what, frame, code } of closes) {
    for (const kind of ['net', 'http'] as const) {
      it(`${kind === 'net' ? 'WebSocketDuplex' : 'handleUpgrade'} server: ${what} gets close ${code}`, async () => {
        const server = kind === 'net' ? await netServer() : await httpServer();
        try {
          const attacker = await Attacker.connect(server.port);
          await attacker.handshake();
          await attacker.write(frame);
          expect(await attacker.closeCode()).to.equal(code);
          await until(() => attacker.closed, 5000, 'the server to drop the connection');
          expect(server.errors.filter((e) => e.name !== 'RemoteProtocolError')).to.deep.equal([]);
        } finally {
          await server.close();
        }
      });
    }
  }

  it('data after a close (frames, garbage, more closes) is ignored: one close reply, no message, no crash', async () => {
    const server = await netServer();
    try {
      const attacker = await Attacker.connect(server.port);
      await attacker.handshake();
      const messages: unknown[] = [];
      server.streams[0]!.on('message', (m: unknown) => messages.push(m));
      // A close and, in the same write, a text frame, garbage, another close, a ping.
      await attacker.write(
        Buffer.concat([
          closeFrame(1000, Buffer.from('bye')),
          masked({ opcode: 0x1, payload: 'after the close' }),
          Buffer.from('GET / HTTP/1.1\r\n\r\n\xff\xff\xff\xff'),
          closeFrame(1001),
          masked({ opcode: 0x9, payload: 'ping?' }),
        ]),
      );
      // And more, in later writes, while the server closes.
      for (let i = 0; i < 5 && !attacker.closed; i++) {
        await attacker.write(Buffer.alloc(4096, 0xff));
        await sleep(5);
      }
      await until(() => attacker.closed, 5000, 'the server to drop the connection');
      const frames = attacker.frames;
      expect(frames.map((f) => f.opcode)).to.deep.equal([0x8]);
      expect(frames[0]!.payload.readUInt16BE(0)).to.equal(1000);
      expect(messages).to.deep.equal([]);
      await until(() => server.closes.length === 1, 5000, 'the server-side close');
      expect(server.closes[0]).to.deep.equal([1000, 'bye', true]);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('a peer that vanishes in the middle of a fragmented message: close 1006, nothing delivered', async () => {
    const server = await netServer();
    try {
      const attacker = await Attacker.connect(server.port);
      await attacker.handshake();
      const messages: unknown[] = [];
      server.streams[0]!.on('message', (m: unknown) => messages.push(m));
      await attacker.write(masked({ fin: false, opcode: 0x1, payload: 'half a ' }));
      await attacker.write(masked({ opcode: 0x1, payload: 'mess' }).subarray(0, 5));
      attacker.destroy();
      await until(() => server.closes.length === 1, 5000, 'the server-side close');
      expect(server.closes[0]![0]).to.equal(1006);
      expect(server.closes[0]![2]).to.equal(false);
      expect(messages).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});
