/**
 * Fuzz: the `Sec-WebSocket-Extensions` parser (RFC 6455 9.1, lib/handshake/extension-header.ts).
 * Any string gives `ExtensionParams[]` or a `RemoteProtocolError` (`ERR_BAD_EXTENSION`,
 * with a 400 `RejectConnection` hint), never another exception; what it returns is made
 * of tokens and survives format -> parse unchanged; headers built from the grammar (OWS,
 * quoted values, empty list elements) parse to what was built.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { RejectConnection, RemoteProtocolError, type ExtensionParams } from '../../lib/index';
import { formatExtensionHeader, parseExtensionHeader } from '../../lib/handshake/extension-header';
import { isToken } from '../../lib/handshake/http/abnf';
import { fuzzParams } from './config';

const tokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 10 });
const ows = fc.constantFrom('', '', '', ' ', '\t', '  ', ' \t ');

/** Strings over the characters that matter to the grammar, plus anything. */
const grammarSoup = fc.oneof(
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...'ab-_;,="\\ \t') },
      { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\0', '\x7f', '\xff', 'é', '\u0100', '\ud800') },
    ),
    maxLength: 60,
  }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/** RFC 9110 5.6.4: a quoted-string whose unescaped value is `value` (escaping at random). */
const quoted = (value: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: value.length, maxLength: value.length })
    .map((escapes) => `"${[...value].map((c, i) => (escapes[i] || c === '"' || c === '\\' ? `\\${c}` : c)).join('')}"`);

/** A header value from the grammar, with the structure it must parse to. */
const validHeader: fc.Arbitrary<{ text: string; parsed: ExtensionParams[] }> = fc
  .array(
    fc.record({
      name: token,
      params: fc.array(fc.tuple(token, fc.option(token), fc.boolean(), ows, ows), { maxLength: 4 }),
      before: ows,
      after: ows,
    }),
    { minLength: 1, maxLength: 4 },
  )
  .chain((exts) =>
    fc
      .tuple(
        ...exts.map((e) =>
          fc.tuple(...e.params.map(([, v, q]) => (v !== null && q ? quoted(v) : fc.constant(v ?? '')))),
        ),
        fc.array(fc.constantFrom(',', ' ,', ', ,'), { maxLength: 2 }),
      )
      .map((parts) => {
        const empties = parts[parts.length - 1] as string[];
        const values = parts.slice(0, -1) as string[][];
        const text = exts
          .map((e, i) => {
            const ps = e.params
              .map(([n, v, , o1, o2], j) => `${o1};${o2}${n}${v === null ? '' : `${o1}=${o2}${values[i]![j]}`}`)
              .join('');
            return `${e.before}${e.name}${ps}${e.after}`;
          })
          .join(',');
        return {
          text: `${empties.join('')}${text}${empties.length > 0 ? ',' : ''}`,
          parsed: exts.map((e) => ({ name: e.name, params: e.params.map(([n, v]) => [n, v] as const) })),
        };
      }),
  );

function parseOrError(values: string[]): ExtensionParams[] | RemoteProtocolError {
  try {
    return parseExtensionHeader(values);
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(RemoteProtocolError);
    const remote = error as RemoteProtocolError;
    expect(remote.code).to.equal('ERR_BAD_EXTENSION');
    expect(remote.eventHint).to.be.instanceOf(RejectConnection);
    expect((remote.eventHint as RejectConnection).statusCode).to.equal(400);
    return remote;
  }
}

describe('fuzz: Sec-WebSocket-Extensions parser', () => {
  it('any string gives extensions made of tokens, or ERR_BAD_EXTENSION; format -> parse is the identity', () => {
    fc.assert(
      fc.property(fc.array(grammarSoup, { minLength: 1, maxLength: 3 }), (values) => {
        const result = parseOrError(values);
        if (result instanceof RemoteProtocolError) return;
        for (const ext of result) {
          expect(isToken(ext.name), ext.name).to.equal(true);
          for (const [name, value] of ext.params) {
            expect(isToken(name), name).to.equal(true);
            if (value !== null) expect(isToken(value), value).to.equal(true);
          }
        }
        if (result.length > 0) expect(parseExtensionHeader([formatExtensionHeader(result)])).to.deep.equal(result);
      }),
      fuzzParams('extension soup', 1000),
    );
  });

  it('headers built from the grammar parse to what was built', () => {
    fc.assert(
      fc.property(validHeader, ({ text, parsed }) => {
        expect(parseExtensionHeader([text])).to.deep.equal(parsed);
      }),
      fuzzParams('extension grammar', 300),
    );
  });

  it('repeated fields are one list: parse([a, b]) is parse([a]) then parse([b])', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          validHeader.map((h) => h.text),
          grammarSoup,
        ),
        validHeader,
        (a, b) => {
          const both = parseOrError([a, b.text]);
          const first = parseOrError([a]);
          if (first instanceof RemoteProtocolError) {
            expect(both).to.be.instanceOf(RemoteProtocolError);
            return;
          }
          expect(both).to.deep.equal([...first, ...b.parsed]);
        },
      ),
      fuzzParams('extension repeated', 300),
    );
  });

  it('one corrupted character of a valid header gives a parse or ERR_BAD_EXTENSION', () => {
    fc.assert(
      fc.property(validHeader, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }), (h, at, c) => {
        const i = at % (h.text.length + 1);
        parseOrError([h.text.slice(0, i) + c + h.text.slice(i + 1)]);
      }),
      fuzzParams('extension corrupted', 300),
    );
  });
});
