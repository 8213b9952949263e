import { expect } from 'chai';
import { LocalProtocolError } from '../../lib/errors';
import {
  DEFAULT_THRESHOLD,
  formatParams,
  parseParams,
  resolveOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../lib/extensions/deflate-params';

type Params = ReadonlyArray<readonly [string, string | null]>;

const NONE: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: null,
  clientMaxWindowBits: null,
};

describe('extensions/deflate-params', () => {
  describe('resolveOptions', () => {
    it('applies the defaults: memory medium (12-bit windows, memLevel 5), level -1, threshold 1024', () => {
      expect(DEFAULT_THRESHOLD).to.equal(1024);
      expect(resolveOptions({})).to.deep.equal({
        memory: 'medium',
        preset: { windowBits: 12, clientWindowBits: 12, memLevel: 5, shared: false },
        serverNoContextTakeover: false,
        clientNoContextTakeover: null,
        serverMaxWindowBits: null,
        clientMaxWindowBits: true,
        level: -1,
        memLevel: 5,
        threshold: 1024,
      });
    });

    it('memory high and low: their presets, explicit options still win', () => {
      expect(resolveOptions({ memory: 'high' })).to.include({ memory: 'high', memLevel: 8 });
      expect(resolveOptions({ memory: 'high' }).preset).to.deep.equal({
        windowBits: 15,
        clientWindowBits: 15,
        memLevel: 8,
        shared: false,
      });
      expect(resolveOptions({ memory: 'low' }).preset).to.include({ windowBits: 12, shared: true });
      expect(resolveOptions({ memory: 'high', memLevel: 3 }).memLevel).to.equal(3);
      expect(resolveOptions({ memory: 'low', clientNoContextTakeover: false }).clientNoContextTakeover).to.equal(false);
    });

    for (const memory of ['tiny', 5, 'toString']) {
      it(`refuses memory ${JSON.stringify(memory)} with ERR_INVALID_OPTION`, () => {
        expect(() => resolveOptions({ memory } as unknown as PerMessageDeflateOptions))
          .to.throw(LocalProtocolError)
          .with.property('code', 'ERR_INVALID_OPTION');
      });
    }

    it('keeps valid values at both ends of every range', () => {
      for (const bits of [9, 15]) {
        const r = resolveOptions({ serverMaxWindowBits: bits, clientMaxWindowBits: bits });
        expect([r.serverMaxWindowBits, r.clientMaxWindowBits]).to.deep.equal([bits, bits]);
      }
      expect(resolveOptions({ clientMaxWindowBits: false }).clientMaxWindowBits).to.equal(false);
      expect(resolveOptions({ level: 9, memLevel: 1, threshold: 0 })).to.include({
        level: 9,
        memLevel: 1,
        threshold: 0,
      });
      expect(resolveOptions({ serverNoContextTakeover: true, clientNoContextTakeover: true })).to.include({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
      });
    });

    // Our own windows are 9 to 15: zlib cannot open a raw deflate stream with 8 bits.
    const invalid: Array<[string, PerMessageDeflateOptions, RegExp]> = [
      ['serverMaxWindowBits 8', { serverMaxWindowBits: 8 }, /serverMaxWindowBits must be an integer from 9 to 15/],
      ['serverMaxWindowBits 16', { serverMaxWindowBits: 16 }, /serverMaxWindowBits/],
      ['serverMaxWindowBits 10.5', { serverMaxWindowBits: 10.5 }, /serverMaxWindowBits/],
      ['clientMaxWindowBits 8', { clientMaxWindowBits: 8 }, /clientMaxWindowBits must be an integer from 9 to 15/],
      ['level -2', { level: -2 }, /level must be an integer from -1 to 9/],
      ['level 10', { level: 10 }, /level/],
      ['memLevel 0', { memLevel: 0 }, /memLevel must be an integer from 1 to 9/],
      ['threshold -1', { threshold: -1 }, /threshold/],
      ['a string for a number', { level: '1' as unknown as number }, /level/],
      ['a number for a boolean', { serverNoContextTakeover: 1 as unknown as boolean }, /must be a boolean/],
    ];
    for (const [title, options, message] of invalid) {
      it(`refuses ${title} with ERR_INVALID_OPTION`, () => {
        let caught: unknown;
        try {
          resolveOptions(options);
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(LocalProtocolError);
        expect((caught as LocalProtocolError).code).to.equal('ERR_INVALID_OPTION');
        expect((caught as LocalProtocolError).message).to.match(/^permessage-deflate: /);
        expect((caught as LocalProtocolError).message).to.match(message);
      });
    }
  });

  describe('parseParams (RFC 7692 7.1)', () => {
    const accepted: Array<[string, Params, boolean, DeflateParams]> = [
      ['RFC 7692 5: no parameters', [], false, NONE],
      [
        'RFC 7692 7.1.1: both no_context_takeover parameters',
        [
          ['server_no_context_takeover', null],
          ['client_no_context_takeover', null],
        ],
        false,
        { ...NONE, serverNoContextTakeover: true, clientNoContextTakeover: true },
      ],
      [
        'RFC 7692 7.1.2.1: server_max_window_bits 8 to 15',
        [['server_max_window_bits', '8']],
        false,
        { ...NONE, serverMaxWindowBits: 8 },
      ],
      [
        'RFC 7692 7.1.2.2: client_max_window_bits without a value in an offer',
        [['client_max_window_bits', null]],
        false,
        { ...NONE, clientMaxWindowBits: true },
      ],
      [
        'RFC 7692 7.1.2.2: client_max_window_bits with a value in a response',
        [['client_max_window_bits', '15']],
        true,
        { ...NONE, clientMaxWindowBits: 15 },
      ],
      [
        'RFC 6455 9.1: a quoted-string value is unquoted',
        [['server_max_window_bits', '"10"']],
        true,
        { ...NONE, serverMaxWindowBits: 10 },
      ],
      [
        'parameter names compare case-insensitively',
        [['Server_No_Context_Takeover', null]],
        true,
        { ...NONE, serverNoContextTakeover: true },
      ],
    ];
    for (const [title, params, response, want] of accepted) {
      it(`${title}`, () => {
        expect(parseParams(params, response)).to.deep.equal(want);
      });
    }

    const refused: Array<[string, Params, boolean, RegExp]> = [
      ['RFC 7692 7.1: an unknown parameter', [['x_foo', null]], false, /unknown parameter x_foo/],
      [
        'RFC 7692 7.1: a parameter twice',
        [
          ['server_max_window_bits', '10'],
          ['SERVER_MAX_WINDOW_BITS', '11'],
        ],
        false,
        /server_max_window_bits appears twice/,
      ],
      [
        'RFC 7692 7.1.1.1: server_no_context_takeover with a value',
        [['server_no_context_takeover', '1']],
        false,
        /takes no value/,
      ],
      [
        'RFC 7692 7.1.2.1: server_max_window_bits without a value',
        [['server_max_window_bits', null]],
        false,
        /invalid server_max_window_bits \(no value\)/,
      ],
      ['RFC 7692 7.1.2.1: window bits 7', [['server_max_window_bits', '7']], false, /=7/],
      ['RFC 7692 7.1.2.1: window bits 16', [['server_max_window_bits', '16']], false, /=16/],
      ['RFC 7692 7.1.2.1: a leading zero', [['server_max_window_bits', '09']], false, /=09/],
      ['RFC 7692 7.1.2.2: window bits not a number', [['client_max_window_bits', 'ten']], false, /=ten/],
      [
        'RFC 7692 7.1.2.2: client_max_window_bits without a value in a response',
        [['client_max_window_bits', null]],
        true,
        /needs a value in a response/,
      ],
    ];
    for (const [title, params, response, message] of refused) {
      it(`${title} is refused with a reason`, () => {
        const got = parseParams(params, response);
        expect(got).to.be.a('string');
        expect(got as string).to.match(message);
      });
    }
  });

  describe('formatParams', () => {
    it('RFC 6455 9.1: no parameters is the bare token (true); parameters are joined with "; "', () => {
      expect(formatParams([])).to.equal(true);
      expect(formatParams(['server_no_context_takeover'])).to.equal('server_no_context_takeover');
      expect(formatParams(['server_no_context_takeover', 'client_max_window_bits=10'])).to.equal(
        'server_no_context_takeover; client_max_window_bits=10',
      );
    });
  });
});
