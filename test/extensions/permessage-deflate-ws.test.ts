/**
 * Interop with `ws`'s own permessage-deflate (the Node peer), in memory: negotiation
 * both ways (our client with a ws server, a ws client with our server), then messages
 * compressed by one and inflated by the other, for several parameter sets.
 */
import { expect } from 'chai';
import * as path from 'node:path';
import type { ExtensionParams } from '../../lib/extensions/extension';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../../lib/extensions/permessage-deflate';
import { rng } from '../helpers/bytes';

interface WsDeflate {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): Record<string, unknown>;
  compress(data: Buffer, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
  cleanup(): void;
}
type WsExtensions = Record<string, Array<Record<string, Array<string | true>>>>;

// ws does not export these modules; load them by path from its package directory.
const wsDir = path.dirname(require.resolve('ws'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WsPerMessageDeflate = require(path.join(wsDir, 'lib', 'permessage-deflate.js')) as new (
  options: object,
) => WsDeflate;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wsExtension = require(path.join(wsDir, 'lib', 'extension.js')) as {
  parse(header: string): WsExtensions;
  format(extensions: Record<string, unknown>): string;
};

/** A header value `permessage-deflate; a; b=1` as our handshake layer hands it over. */
function toParams(header: string): ExtensionParams {
  const [name, ...rest] = header.split(';').map((p) => p.trim());
  return {
    name: name!,
    params: rest.map((p): readonly [string, string | null] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, null] : [p.slice(0, eq), p.slice(eq + 1)];
    }),
  };
}

function call(fn: (cb: (error: Error | null, result?: Buffer) => void) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => fn((error, result) => (error ? reject(error) : resolve(result!))));
}

/** Messages to exchange: text, repetitive JSON, random bytes, empty, large. */
function messages(): Buffer[][] {
  const rand = rng(11);
  const random = Buffer.from(Array.from({ length: 3000 }, () => Math.floor(rand() * 256)));
  const json = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, ok: i % 2 === 0 }))));
  const large = Buffer.from('lorem ipsum dolor sit amet '.repeat(8000));
  return [
    [Buffer.from('Hello')],
    [json],
    [json], // again, for context takeover
    [random],
    [Buffer.alloc(0)],
    [large.subarray(0, 100_000), large.subarray(100_000), Buffer.alloc(0)], // three fragments
    [Buffer.from('Hel'), Buffer.from('lo')],
    [large],
  ];
}

/** Our extension sends, ws inflates; then ws sends, ours inflates. */
async function exchange(ours: PerMessageDeflate, theirs: WsDeflate): Promise<void> {
  for (const fragments of messages()) {
    const whole = Buffer.concat(fragments);
    // ours → ws
    const received: Buffer[] = [];
    for (const [i, piece] of fragments.entries()) {
      const fin = i === fragments.length - 1;
      const { rsv, data } = ours.outbound(i === 0 ? 0x2 : 0x0, 0, piece, fin, true);
      expect(rsv).to.equal(i === 0 ? 0x40 : 0);
      received.push(await call((cb) => theirs.decompress(data, fin, cb)));
    }
    expect(Buffer.concat(received).equals(whole), `ours → ws, ${whole.length} bytes`).to.equal(true);
    // ws → ours
    const inflated: Buffer[] = [];
    for (const [i, piece] of fragments.entries()) {
      const fin = i === fragments.length - 1;
      const data = await call((cb) => theirs.compress(piece, fin, cb));
      expect(ours.inboundHeader(i === 0 ? 0x2 : 0x0, i === 0 ? 0x40 : 0, data.length)).to.equal(i === 0 ? 0x40 : 0);
      inflated.push(ours.inboundPayload(data, 1 << 30));
      const extra = ours.inboundComplete(fin, 1 << 30);
      if (extra !== null) inflated.push(extra);
    }
    expect(Buffer.concat(inflated).equals(whole), `ws → ours, ${whole.length} bytes`).to.equal(true);
  }
}

const parameterSets: Array<[string, PerMessageDeflateOptions, object]> = [
  ['defaults', {}, {}],
  // The memory modes (ws ignores the option): the low mode's shared compressor and history.
  ['memory low', { memory: 'low' }, { memory: 'low' }],
  ['memory low, no context takeover', { memory: 'low', serverNoContextTakeover: true }, { memory: 'low' }],
  ['memory high', { memory: 'high' }, { memory: 'high' }],
  ['server_no_context_takeover', { serverNoContextTakeover: true }, {}],
  ['client_no_context_takeover', { clientNoContextTakeover: true }, {}],
  ['server_max_window_bits=9', { serverMaxWindowBits: 9 }, {}],
  ['client_max_window_bits=10 from the server', {}, { clientMaxWindowBits: 10 }],
  [
    'everything limited',
    { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    { clientMaxWindowBits: 9 },
  ],
];

describe('permessage-deflate interop with ws (RFC 7692)', () => {
  for (const [title, ourOptions, wsOptions] of parameterSets) {
    it(`our client, ws server: ${title}`, async () => {
      const ours = new PerMessageDeflate({ ...ourOptions, threshold: 0 });
      const offer = ours.offer();
      const header = offer === true ? 'permessage-deflate' : `permessage-deflate; ${offer}`;
      const theirs = new WsPerMessageDeflate({ ...wsOptions, isServer: true });
      const accepted = theirs.accept(wsExtension.parse(header)['permessage-deflate']!);
      ours.finalize(toParams(wsExtension.format({ 'permessage-deflate': accepted })));
      expect(ours.enabled()).to.equal(true);
      try {
        await exchange(ours, theirs);
      } finally {
        ours.close();
        theirs.cleanup();
      }
    });

    it(`ws client, our server: ${title}`, async () => {
      // The same parameters, the other way: ws offers, we answer.
      const theirs = new WsPerMessageDeflate({ ...ourOptions });
      const ours = new PerMessageDeflate({ ...wsOptions, threshold: 0 });
      const offer = wsExtension.format({ 'permessage-deflate': theirs.offer() });
      const response = ours.accept(toParams(offer));
      expect(response, offer).to.not.equal(null);
      const header = response === true ? 'permessage-deflate' : `permessage-deflate; ${response}`;
      theirs.accept(wsExtension.parse(header)['permessage-deflate']!);
      try {
        await exchange(ours, theirs);
      } finally {
        ours.close();
        theirs.cleanup();
      }
    });
  }
});
