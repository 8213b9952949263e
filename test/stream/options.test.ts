/** Mirror test for lib/stream/options: the documented defaults, and fresh extensions per connection. */
import { expect } from 'chai';
import { PerMessageDeflate, type Extension } from '../../lib/index';
import { coreOptions, makeExtensions, resolveTimings, wireOptions } from '../../lib/stream/options';

/** A do-nothing extension, enough to be told apart by identity. */
function toyExtension(name = 'x-toy'): Extension {
  return {
    name,
    rsvBits: 0,
    offer: () => true,
    accept: () => true,
    finalize: () => undefined,
    enabled: () => true,
  } as unknown as Extension;
}

describe('stream/options', () => {
  describe('resolveTimings', () => {
    it('gives connections with the same settings one shared, frozen object; other settings another', () => {
      const a = resolveTimings({});
      expect(resolveTimings({ closeTimeout: 5000 })).to.equal(a); // the default, spelled out
      expect(Object.isFrozen(a)).to.equal(true);
      const b = resolveTimings({ closeTimeout: 1234 });
      expect(b).to.not.equal(a);
      expect(b.closeTimeout).to.equal(1234);
      expect(resolveTimings({ closeTimeout: 1234 })).to.equal(b);
    });

    it('the defaults: handshake 30000, close 5000, no keepalive, 64 KiB wire, 16 objects on ws.app', () => {
      expect(resolveTimings({})).to.deep.equal({
        handshakeTimeout: 30000,
        closeTimeout: 5000,
        pingInterval: 0,
        pongTimeout: 0,
        highWaterMark: 64 * 1024,
        appHighWaterMark: 16,
      });
    });

    it('every option overrides its default', () => {
      expect(
        resolveTimings({
          handshakeTimeout: 1,
          closeTimeout: 2,
          pingInterval: 3,
          pongTimeout: 4,
          highWaterMark: 5,
          appHighWaterMark: 6,
        }),
      ).to.deep.equal({
        handshakeTimeout: 1,
        closeTimeout: 2,
        pingInterval: 3,
        pongTimeout: 4,
        highWaterMark: 5,
        appHighWaterMark: 6,
      });
    });

    it('pongTimeout defaults to pingInterval', () => {
      const t = resolveTimings({ pingInterval: 15000 });
      expect(t.pingInterval).to.equal(15000);
      expect(t.pongTimeout).to.equal(15000);
    });

    it('0 is a value, not a missing option (handshakeTimeout 0 disables the deadline)', () => {
      const t = resolveTimings({ handshakeTimeout: 0, closeTimeout: 0, pingInterval: 1000, pongTimeout: 0 });
      expect(t.handshakeTimeout).to.equal(0);
      expect(t.closeTimeout).to.equal(0);
      expect(t.pongTimeout).to.equal(0);
    });

    it('options that are not timings do not leak into the result', () => {
      const t = resolveTimings({ autoPong: false, perMessageDeflate: true, maxMessageSize: 10 });
      expect(Object.keys(t).sort()).to.deep.equal([
        'appHighWaterMark',
        'closeTimeout',
        'handshakeTimeout',
        'highWaterMark',
        'pingInterval',
        'pongTimeout',
      ]);
    });
  });

  describe('makeExtensions', () => {
    it('no options: no extensions', () => {
      expect(makeExtensions({})).to.deep.equal([]);
      expect(makeExtensions({ perMessageDeflate: false })).to.deep.equal([]);
    });

    it('the function form is called per connection: fresh extension objects each time', () => {
      let calls = 0;
      const options = {
        extensions: () => {
          calls++;
          return [toyExtension()];
        },
      };
      const first = makeExtensions(options);
      const second = makeExtensions(options);
      expect(calls).to.equal(2);
      expect(first).to.have.length(1);
      expect(second).to.have.length(1);
      expect(first[0]).to.not.equal(second[0]);
    });

    it('the array form gives a new list each time (adding to one does not change the option)', () => {
      const toy = toyExtension();
      const list = [toy];
      const made = makeExtensions({ extensions: list, perMessageDeflate: true });
      expect(made).to.not.equal(list);
      expect(made[0]).to.equal(toy);
      expect(list).to.have.length(1);
    });

    it('perMessageDeflate: true adds a PerMessageDeflate with the default offer, fresh per call', () => {
      const first = makeExtensions({ perMessageDeflate: true });
      const second = makeExtensions({ perMessageDeflate: true });
      expect(first).to.have.length(1);
      expect(first[0]).to.be.instanceOf(PerMessageDeflate);
      expect(first[0]!.offer()).to.deep.equal(new PerMessageDeflate().offer());
      expect(first[0]).to.not.equal(second[0]);
    });

    it('perMessageDeflate: { ... } adds a PerMessageDeflate made with those options', () => {
      const options = { serverNoContextTakeover: true, clientMaxWindowBits: 10 } as const;
      const [pmd] = makeExtensions({ perMessageDeflate: options });
      expect(pmd).to.be.instanceOf(PerMessageDeflate);
      expect(pmd!.offer()).to.deep.equal(new PerMessageDeflate(options).offer());
      expect(pmd!.offer()).to.not.deep.equal(new PerMessageDeflate().offer());
    });

    it('PerMessageDeflate comes after the extensions of the function form', () => {
      const toy = toyExtension('x-first');
      const made = makeExtensions({ extensions: () => [toy], perMessageDeflate: true });
      expect(made.map((e) => e.name)).to.deep.equal(['x-first', 'permessage-deflate']);
    });
  });

  describe('wireOptions and coreOptions', () => {
    it("the wire face: byte high-water marks both ways, half-open, 'close' emitted by the stream itself", () => {
      expect(wireOptions(resolveTimings({ highWaterMark: 1024 }))).to.deep.equal({
        emitClose: false,
        allowHalfOpen: true,
        decodeStrings: true,
        readableHighWaterMark: 1024,
        writableHighWaterMark: 1024,
      });
    });

    it('the core: the automatic replies on unless switched off; other options pass through', () => {
      expect(coreOptions({ maxMessageSize: 10 })).to.include({
        maxMessageSize: 10,
        autoPong: true,
        autoCloseReply: true,
      });
      expect(coreOptions({ autoPong: false, autoCloseReply: false })).to.include({
        autoPong: false,
        autoCloseReply: false,
      });
    });
  });
});
