/** permessage-deflate negotiation (RFC 7692 7.1) for both roles, and option checks. */
import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import type { ExtensionParams } from '../../lib/extensions/extension';
import {
  PerMessageDeflate,
  type NegotiatedDeflate,
  type PerMessageDeflateOptions,
} from '../../lib/extensions/permessage-deflate';
import { params } from '../helpers/extension-params';

const DEFAULTS: NegotiatedDeflate = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

/** What the handshake layer does with several offers: the first one accepted wins. */
function negotiate(ext: PerMessageDeflate, offers: string[]): { index: number; response: string | true } | null {
  for (const [index, offer] of offers.entries()) {
    const response = ext.accept(params(offer));
    if (response !== null) return { index, response };
  }
  return null;
}

describe('permessage-deflate negotiation (RFC 7692 7.1)', () => {
  describe('client offer', () => {
    const cases: Array<[string, PerMessageDeflateOptions, string | true]> = [
      ['default: client_max_window_bits without a value (7.1.2.2)', {}, 'client_max_window_bits'],
      ['clientMaxWindowBits false: no parameters', { clientMaxWindowBits: false }, true],
      ['clientMaxWindowBits 10 (7.1.2.2)', { clientMaxWindowBits: 10 }, 'client_max_window_bits=10'],
      [
        'serverMaxWindowBits 12 (7.1.2.1)',
        { serverMaxWindowBits: 12 },
        'client_max_window_bits; server_max_window_bits=12',
      ],
      [
        'both no_context_takeover flags (7.1.1.1, 7.1.1.2)',
        { clientMaxWindowBits: false, clientNoContextTakeover: true, serverNoContextTakeover: true },
        'client_no_context_takeover; server_no_context_takeover',
      ],
      [
        'every parameter',
        {
          clientMaxWindowBits: 9,
          serverMaxWindowBits: 9,
          clientNoContextTakeover: true,
          serverNoContextTakeover: true,
        },
        'client_max_window_bits=9; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover',
      ],
    ];
    for (const [title, options, offer] of cases) {
      it(`offers ${title}`, () => {
        const ext = new PerMessageDeflate(options);
        expect(ext.offer()).to.equal(offer);
        expect(ext.enabled()).to.equal(false);
        expect(ext.negotiated).to.equal(null);
      });
    }
  });

  describe('client checks the response', () => {
    const valid: Array<[string, PerMessageDeflateOptions, string, Partial<NegotiatedDeflate>]> = [
      ['no parameters', {}, '', {}],
      [
        'server_no_context_takeover, unasked (7.1.1.1)',
        {},
        'server_no_context_takeover',
        { serverNoContextTakeover: true },
      ],
      [
        'client_no_context_takeover, unasked (7.1.1.2)',
        {},
        'client_no_context_takeover',
        { clientNoContextTakeover: true },
      ],
      ['server_max_window_bits=10, unasked (7.1.2.1)', {}, 'server_max_window_bits=10', { serverMaxWindowBits: 10 }],
      ['server_max_window_bits=8 (7.1.2.1)', {}, 'server_max_window_bits=8', { serverMaxWindowBits: 8 }],
      ['server_max_window_bits quoted (RFC 6455 9.1)', {}, 'server_max_window_bits="11"', { serverMaxWindowBits: 11 }],
      [
        'client_max_window_bits=9 to our offer without value (7.1.2.2)',
        {},
        'client_max_window_bits=9',
        { clientMaxWindowBits: 9 },
      ],
      [
        'client_max_window_bits=8, honoured with zlib 9 (7.1.2.2)',
        {},
        'client_max_window_bits=8',
        { clientMaxWindowBits: 8 },
      ],
      [
        'client_max_window_bits=10 to our offer of 10',
        { clientMaxWindowBits: 10 },
        'client_max_window_bits=10',
        { clientMaxWindowBits: 10 },
      ],
      [
        'client_max_window_bits=9 below our offer of 10',
        { clientMaxWindowBits: 10 },
        'client_max_window_bits=9',
        { clientMaxWindowBits: 9 },
      ],
      [
        'no client_max_window_bits: we keep the 10 we offered',
        { clientMaxWindowBits: 10 },
        '',
        { clientMaxWindowBits: 10 },
      ],
      [
        'server_max_window_bits equal to our offer',
        { serverMaxWindowBits: 12 },
        'server_max_window_bits=12',
        { serverMaxWindowBits: 12 },
      ],
      [
        'server_max_window_bits below our offer',
        { serverMaxWindowBits: 12 },
        'server_max_window_bits=9',
        { serverMaxWindowBits: 9 },
      ],
      [
        'server_no_context_takeover echoed',
        { serverNoContextTakeover: true },
        'server_no_context_takeover',
        { serverNoContextTakeover: true },
      ],
      [
        'client_no_context_takeover we offered, not echoed',
        { clientNoContextTakeover: true },
        '',
        { clientNoContextTakeover: true },
      ],
      [
        'every parameter',
        {
          clientMaxWindowBits: 12,
          serverMaxWindowBits: 12,
          clientNoContextTakeover: true,
          serverNoContextTakeover: true,
        },
        'server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
        {
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 11,
        },
      ],
    ];
    for (const [title, options, response, expected] of valid) {
      it(`accepts ${title}`, () => {
        const ext = new PerMessageDeflate(options);
        ext.finalize(params(response));
        expect(ext.enabled()).to.equal(true);
        expect(ext.negotiated).to.deep.equal({ ...DEFAULTS, ...expected });
      });
    }

    const invalid: Array<[string, PerMessageDeflateOptions, ExtensionParams, RegExp]> = [
      ['an unknown parameter (7.1)', {}, params('mux'), /unknown parameter mux/],
      ['an unknown parameter with a value (7.1)', {}, params('server_max_window=10'), /unknown parameter/],
      ['a parameter twice (7.1)', {}, params('server_no_context_takeover; server_no_context_takeover'), /twice/],
      [
        'server_max_window_bits twice (7.1)',
        {},
        params('server_max_window_bits=10; server_max_window_bits=10'),
        /twice/,
      ],
      [
        'server_no_context_takeover with a value (7.1.1.1)',
        {},
        params('server_no_context_takeover=1'),
        /takes no value/,
      ],
      [
        'client_no_context_takeover with a value (7.1.1.2)',
        {},
        params('client_no_context_takeover=true'),
        /takes no value/,
      ],
      ['server_max_window_bits without a value (7.1.2.1)', {}, params('server_max_window_bits'), /no value/],
      ['server_max_window_bits=08, a leading zero (7.1.2.1)', {}, params('server_max_window_bits=08'), /invalid/],
      ['server_max_window_bits=16 (7.1.2.1)', {}, params('server_max_window_bits=16'), /invalid/],
      ['server_max_window_bits=7 (7.1.2.1)', {}, params('server_max_window_bits=7'), /invalid/],
      ['server_max_window_bits=foo (7.1.2.1)', {}, params('server_max_window_bits=foo'), /invalid/],
      ['server_max_window_bits= (empty)', {}, params('server_max_window_bits='), /invalid/],
      ['server_max_window_bits=+9', {}, params('server_max_window_bits=+9'), /invalid/],
      ['server_max_window_bits=9.0', {}, params('server_max_window_bits=9.0'), /invalid/],
      [
        'client_max_window_bits without a value in a response (7.1.2.2)',
        {},
        params('client_max_window_bits'),
        /needs a value/,
      ],
      ['client_max_window_bits=16 (7.1.2.2)', {}, params('client_max_window_bits=16'), /invalid/],
      ['client_max_window_bits=09 (7.1.2.2)', {}, params('client_max_window_bits=09'), /invalid/],
      [
        'client_max_window_bits we did not offer (7.1.2.2)',
        { clientMaxWindowBits: false },
        params('client_max_window_bits=10'),
        /not offered/,
      ],
      [
        'client_max_window_bits above the value we offered (7.1.2.2)',
        { clientMaxWindowBits: 10 },
        params('client_max_window_bits=11'),
        /exceeds/,
      ],
      [
        'server_max_window_bits above the value we asked for (7.1.2.1)',
        { serverMaxWindowBits: 10 },
        params('server_max_window_bits=12'),
        /exceeds/,
      ],
      [
        'no server_max_window_bits when we asked for one (7.1.2.1)',
        { serverMaxWindowBits: 10 },
        params(''),
        /ignored server_max_window_bits/,
      ],
      [
        'no server_no_context_takeover when we asked for it (7.1.1.1)',
        { serverNoContextTakeover: true },
        params('client_no_context_takeover'),
        /ignored server_no_context_takeover/,
      ],
      ['another extension name', {}, params('', 'x-webkit-deflate-frame'), /unexpected extension/],
    ];
    for (const [title, options, response, message] of invalid) {
      it(`fails the connection on ${title}`, () => {
        const ext = new PerMessageDeflate(options);
        let error: unknown;
        try {
          ext.finalize(response);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(RemoteProtocolError);
        expect((error as RemoteProtocolError).code).to.equal('ERR_BAD_EXTENSION');
        expect((error as Error).message).to.match(message);
        expect(ext.enabled()).to.equal(false);
      });
    }
  });

  describe('server answers an offer', () => {
    const accepted: Array<[string, PerMessageDeflateOptions, string, string | true, Partial<NegotiatedDeflate>]> = [
      ['no parameters', {}, '', true, {}],
      ['client_max_window_bits without a value: no limit needed (7.1.2.2)', {}, 'client_max_window_bits', true, {}],
      [
        'client_max_window_bits=10: we hold the client to it (7.1.2.2)',
        {},
        'client_max_window_bits=10',
        'client_max_window_bits=10',
        { clientMaxWindowBits: 10 },
      ],
      ['client_max_window_bits=15: nothing to say', {}, 'client_max_window_bits=15', true, {}],
      [
        'server_max_window_bits=10: echoed, used for our compressor (7.1.2.1)',
        {},
        'server_max_window_bits=10',
        'server_max_window_bits=10',
        { serverMaxWindowBits: 10 },
      ],
      [
        'server_max_window_bits=8: accepted, zlib 9 honours it (7.1.2.1)',
        {},
        'server_max_window_bits=8',
        'server_max_window_bits=8',
        { serverMaxWindowBits: 8 },
      ],
      ['server_max_window_bits=15 echoed', {}, 'server_max_window_bits=15', 'server_max_window_bits=15', {}],
      [
        'server_no_context_takeover echoed (7.1.1.1)',
        {},
        'server_no_context_takeover',
        'server_no_context_takeover',
        { serverNoContextTakeover: true },
      ],
      [
        'client_no_context_takeover echoed (7.1.1.2)',
        {},
        'client_no_context_takeover',
        'client_no_context_takeover',
        { clientNoContextTakeover: true },
      ],
      [
        'every parameter',
        {},
        'client_max_window_bits=12; server_max_window_bits=11; client_no_context_takeover; server_no_context_takeover',
        'server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12',
        {
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 11,
          clientMaxWindowBits: 12,
        },
      ],
      [
        'serverNoContextTakeover option: sent unasked (7.1.1.1)',
        { serverNoContextTakeover: true },
        '',
        'server_no_context_takeover',
        { serverNoContextTakeover: true },
      ],
      [
        'clientNoContextTakeover option: sent unasked (7.1.1.2)',
        { clientNoContextTakeover: true },
        '',
        'client_no_context_takeover',
        { clientNoContextTakeover: true },
      ],
      [
        'serverMaxWindowBits option: announced unasked (7.1.2.1)',
        { serverMaxWindowBits: 10 },
        '',
        'server_max_window_bits=10',
        { serverMaxWindowBits: 10 },
      ],
      [
        'serverMaxWindowBits option below the offer',
        { serverMaxWindowBits: 10 },
        'server_max_window_bits=12',
        'server_max_window_bits=10',
        { serverMaxWindowBits: 10 },
      ],
      [
        'an offer below the serverMaxWindowBits option',
        { serverMaxWindowBits: 10 },
        'server_max_window_bits=9',
        'server_max_window_bits=9',
        { serverMaxWindowBits: 9 },
      ],
      [
        'clientMaxWindowBits option, client_max_window_bits without value',
        { clientMaxWindowBits: 10 },
        'client_max_window_bits',
        'client_max_window_bits=10',
        { clientMaxWindowBits: 10 },
      ],
      [
        'clientMaxWindowBits option below the offered value',
        { clientMaxWindowBits: 10 },
        'client_max_window_bits=12',
        'client_max_window_bits=10',
        { clientMaxWindowBits: 10 },
      ],
      [
        'an offered value below the clientMaxWindowBits option',
        { clientMaxWindowBits: 10 },
        'client_max_window_bits=9',
        'client_max_window_bits=9',
        { clientMaxWindowBits: 9 },
      ],
      ['clientMaxWindowBits 15 without client_max_window_bits', { clientMaxWindowBits: 15 }, '', true, {}],
      [
        'a quoted value (RFC 6455 9.1)',
        {},
        'server_max_window_bits="9"',
        'server_max_window_bits=9',
        { serverMaxWindowBits: 9 },
      ],
    ];
    // The negotiation rules themselves, on memory 'high' (no window of our own to prefer).
    for (const [title, options, offer, response, expected] of accepted) {
      it(`accepts ${title}`, () => {
        const ext = new PerMessageDeflate({ memory: 'high', ...options });
        expect(ext.accept(params(offer))).to.equal(response);
        expect(ext.enabled()).to.equal(true);
        expect(ext.negotiated).to.deep.equal({ ...DEFAULTS, ...expected });
      });
    }

    const declined: Array<[string, PerMessageDeflateOptions, ExtensionParams]> = [
      ['an unknown parameter (7.1)', {}, params('mux')],
      ['an unknown parameter among known ones (7.1)', {}, params('client_max_window_bits; foo=1')],
      ['a parameter twice (7.1)', {}, params('client_max_window_bits; client_max_window_bits')],
      ['server_no_context_takeover twice (7.1)', {}, params('server_no_context_takeover; server_no_context_takeover')],
      ['server_max_window_bits without a value (7.1.2.1)', {}, params('server_max_window_bits')],
      ['server_max_window_bits=08 (7.1.2.1)', {}, params('server_max_window_bits=08')],
      ['server_max_window_bits=16 (7.1.2.1)', {}, params('server_max_window_bits=16')],
      ['server_max_window_bits=7 (7.1.2.1)', {}, params('server_max_window_bits=7')],
      ['server_max_window_bits=abc (7.1.2.1)', {}, params('server_max_window_bits=abc')],
      ['client_max_window_bits=16 (7.1.2.2)', {}, params('client_max_window_bits=16')],
      ['client_max_window_bits=07 (7.1.2.2)', {}, params('client_max_window_bits=07')],
      ['client_max_window_bits= (empty)', {}, params('client_max_window_bits=')],
      ['server_no_context_takeover with a value (7.1.1.1)', {}, params('server_no_context_takeover=1')],
      ['client_no_context_takeover with a value (7.1.1.2)', {}, params('client_no_context_takeover=x')],
      ['another extension', {}, params('', 'permessage-bzip2')],
      [
        'no client_max_window_bits while we must limit the client window (7.1.2.2)',
        { clientMaxWindowBits: 10 },
        params('server_no_context_takeover'),
      ],
    ];
    for (const [title, options, offer] of declined) {
      it(`declines ${title}`, () => {
        const ext = new PerMessageDeflate(options);
        expect(ext.accept(offer)).to.equal(null);
        expect(ext.enabled()).to.equal(false);
        expect(ext.negotiated).to.equal(null);
      });
    }

    it('matches the token and parameter names case-insensitively, as the handshake layer does', () => {
      const ext = new PerMessageDeflate({ memory: 'high' });
      const offer = { name: 'Permessage-Deflate', params: [['Server_No_Context_Takeover', null]] as const };
      expect(ext.accept(offer)).to.equal('server_no_context_takeover');
      expect(ext.negotiated).to.deep.equal({ ...DEFAULTS, serverNoContextTakeover: true });
    });

    it('falls back to the next offer when one is declined (RFC 7692 5)', () => {
      const ext = new PerMessageDeflate({ memory: 'high' });
      const result = negotiate(ext, [
        'server_max_window_bits=16',
        'client_max_window_bits; client_max_window_bits',
        'client_max_window_bits=11; server_no_context_takeover',
        'server_max_window_bits=9',
      ]);
      expect(result).to.deep.equal({ index: 2, response: 'server_no_context_takeover; client_max_window_bits=11' });
      expect(ext.negotiated).to.deep.equal({ ...DEFAULTS, serverNoContextTakeover: true, clientMaxWindowBits: 11 });
    });

    it('falls back past an offer without client_max_window_bits when the client window is limited', () => {
      const ext = new PerMessageDeflate({ memory: 'high', clientMaxWindowBits: 9 });
      const result = negotiate(ext, ['server_no_context_takeover', 'client_max_window_bits']);
      expect(result).to.deep.equal({ index: 1, response: 'client_max_window_bits=9' });
    });

    it('declines every offer when none is acceptable', () => {
      const ext = new PerMessageDeflate();
      expect(negotiate(ext, ['foo', 'server_max_window_bits', 'client_max_window_bits=99'])).to.equal(null);
      expect(ext.enabled()).to.equal(false);
    });

    // The memory modes (DeflateMemoryMode): what a server answers by default.
    const modes: Array<[string, PerMessageDeflateOptions, string, string | true, Partial<NegotiatedDeflate>]> = [
      [
        'medium (default): 12-bit windows for a browser-style offer (7.1.2.1, 7.1.2.2)',
        {},
        'client_max_window_bits',
        'server_max_window_bits=12; client_max_window_bits=12',
        { serverMaxWindowBits: 12, clientMaxWindowBits: 12 },
      ],
      [
        'medium: an offer without client_max_window_bits keeps 15 for the client (7.1.2.2)',
        {},
        '',
        'server_max_window_bits=12',
        { serverMaxWindowBits: 12 },
      ],
      [
        'medium: a smaller client window offered is kept',
        {},
        'client_max_window_bits=10',
        'server_max_window_bits=12; client_max_window_bits=10',
        { serverMaxWindowBits: 12, clientMaxWindowBits: 10 },
      ],
      [
        'medium: server_max_window_bits=15 offered, 12 answered (7.1.2.1)',
        {},
        'server_max_window_bits=15; client_max_window_bits',
        'server_max_window_bits=12; client_max_window_bits=12',
        { serverMaxWindowBits: 12, clientMaxWindowBits: 12 },
      ],
      [
        'medium with serverMaxWindowBits 15: only the client window',
        { serverMaxWindowBits: 15 },
        'client_max_window_bits',
        'client_max_window_bits=12',
        { clientMaxWindowBits: 12 },
      ],
      [
        'medium with clientMaxWindowBits false: the client window is left alone',
        { clientMaxWindowBits: false },
        'client_max_window_bits',
        'server_max_window_bits=12',
        { serverMaxWindowBits: 12 },
      ],
      ['high: nothing to say', { memory: 'high' }, 'client_max_window_bits', true, {}],
      [
        'low: client_no_context_takeover sent unasked (7.1.1.2)',
        { memory: 'low' },
        'client_max_window_bits',
        'client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12',
        { clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 12 },
      ],
      [
        'low with clientNoContextTakeover false: the client keeps its context',
        { memory: 'low', clientNoContextTakeover: false },
        '',
        'server_max_window_bits=12',
        { serverMaxWindowBits: 12 },
      ],
    ];
    for (const [title, options, offer, response, expected] of modes) {
      it(`answers with memory ${title}`, () => {
        const ext = new PerMessageDeflate(options);
        expect(ext.accept(params(offer))).to.equal(response);
        expect(ext.negotiated).to.deep.equal({ ...DEFAULTS, ...expected });
      });
    }

    it('offers the same in every memory mode (a client window of its own is not announced)', () => {
      for (const memory of ['low', 'medium', 'high'] as const) {
        expect(new PerMessageDeflate({ memory }).offer()).to.equal('client_max_window_bits');
      }
    });

    it('round-trips offer → accept → finalize for every client option set', () => {
      let checked = 0;
      for (const serverNoContextTakeover of [false, true]) {
        for (const clientNoContextTakeover of [false, true]) {
          for (const serverMaxWindowBits of [undefined, 9, 12, 15]) {
            for (const clientMaxWindowBits of [true, false, 9, 13]) {
              const options: PerMessageDeflateOptions = {
                serverNoContextTakeover,
                clientNoContextTakeover,
                clientMaxWindowBits,
              };
              if (serverMaxWindowBits !== undefined) options.serverMaxWindowBits = serverMaxWindowBits;
              const client = new PerMessageDeflate(options);
              const server = new PerMessageDeflate();
              const offer = client.offer();
              const response = server.accept(params(offer === true ? '' : offer));
              expect(response, JSON.stringify(options)).to.not.equal(null);
              client.finalize(params(response === true || response === null ? '' : response));
              expect(client.negotiated, JSON.stringify(options)).to.deep.equal(server.negotiated);
              checked++;
            }
          }
        }
      }
      expect(checked).to.equal(64);
    });
  });

  describe('options', () => {
    const bad: Array<[string, PerMessageDeflateOptions]> = [
      ['serverMaxWindowBits 8 (options take 9 to 15)', { serverMaxWindowBits: 8 }],
      ['serverMaxWindowBits 16', { serverMaxWindowBits: 16 }],
      ['serverMaxWindowBits 9.5', { serverMaxWindowBits: 9.5 }],
      ['serverMaxWindowBits "10"', { serverMaxWindowBits: '10' as unknown as number }],
      ['clientMaxWindowBits 8', { clientMaxWindowBits: 8 }],
      ['clientMaxWindowBits 16', { clientMaxWindowBits: 16 }],
      ['clientMaxWindowBits NaN', { clientMaxWindowBits: Number.NaN }],
      ['level 10', { level: 10 }],
      ['level -2', { level: -2 }],
      ['memLevel 0', { memLevel: 0 }],
      ['memLevel 10', { memLevel: 10 }],
      ['threshold -1', { threshold: -1 }],
      ['threshold 1.5', { threshold: 1.5 }],
      ['serverNoContextTakeover "yes"', { serverNoContextTakeover: 'yes' as unknown as boolean }],
      ['clientNoContextTakeover 1', { clientNoContextTakeover: 1 as unknown as boolean }],
      ['inflateBackend "pako"', { inflateBackend: 'pako' as unknown as 'node:zlib' }],
    ];
    for (const [title, options] of bad) {
      it(`refuses ${title} with ERR_INVALID_OPTION`, () => {
        let error: unknown;
        try {
          new PerMessageDeflate(options);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(LocalProtocolError);
        expect((error as LocalProtocolError).code).to.equal('ERR_INVALID_OPTION');
      });
    }

    it('accepts the limits of every range', () => {
      for (const options of [
        { serverMaxWindowBits: 9, clientMaxWindowBits: 15, level: -1, memLevel: 1, threshold: 0 },
        { serverMaxWindowBits: 15, clientMaxWindowBits: 9, level: 9, memLevel: 9, threshold: 2 ** 53 - 1 },
      ]) {
        expect(new PerMessageDeflate(options).offer()).to.be.a('string');
      }
    });

    it('names its token and RSV bit (RFC 7692 6)', () => {
      const ext = new PerMessageDeflate();
      expect(ext.name).to.equal('permessage-deflate');
      expect(ext.rsvBits).to.equal(0x40);
    });

    it('says which inflate backend it uses', () => {
      expect(PerMessageDeflate.inflateBackend).to.equal('node:zlib');
      expect(new PerMessageDeflate().inflateBackend).to.equal(PerMessageDeflate.inflateBackend);
      if (PerMessageDeflate.zlibSyncAvailable) {
        expect(new PerMessageDeflate({ inflateBackend: 'zlib-sync' }).inflateBackend).to.equal('zlib-sync');
      }
      expect(new PerMessageDeflate({ inflateBackend: 'node:zlib' }).inflateBackend).to.equal('node:zlib');
    });
  });
});
