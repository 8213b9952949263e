/** Header lists to and from Node's http2 header objects (lib/stream/http2/fields.ts). */
import { expect } from 'chai';
import { fromHttp2Headers, toHttp2Headers } from '../../../lib/stream/http2/fields';

describe('http2/fields: header lists and Node header objects', () => {
  it('toHttp2Headers: one key per name, repeated names as arrays in order', () => {
    const object = toHttp2Headers([
      [':status', '200'],
      ['set-cookie', 'a=1'],
      ['x-one', 'v'],
      ['set-cookie', 'b=2'],
      ['set-cookie', 'c=3'],
    ]);
    expect({ ...object }).to.deep.equal({ ':status': '200', 'set-cookie': ['a=1', 'b=2', 'c=3'], 'x-one': 'v' });
    expect(Object.getPrototypeOf(object)).to.equal(null); // a header named __proto__ is a header
  });

  it('fromHttp2Headers: pseudo-header fields first, arrays expanded, numbers as strings', () => {
    const list = fromHttp2Headers({ 'x-a': ['1', '2'], ':status': 200 as unknown as string, date: 'now' });
    expect(list).to.deep.equal([
      [':status', '200'],
      ['x-a', '1'],
      ['x-a', '2'],
      ['date', 'now'],
    ]);
  });

  it("fromHttp2Headers: Node's flat rawHeaders keep their order", () => {
    const list = fromHttp2Headers([':method', 'CONNECT', 'b', '2', ':path', '/', 'a', '1']);
    expect(list).to.deep.equal([
      [':method', 'CONNECT'],
      ['b', '2'],
      [':path', '/'],
      ['a', '1'],
    ]);
  });

  it('a list survives the round trip through an object (names unique)', () => {
    const list: Array<[string, string]> = [
      [':status', '200'],
      ['sec-websocket-protocol', 'chat'],
      ['sec-websocket-extensions', 'permessage-deflate'],
    ];
    expect(fromHttp2Headers(toHttp2Headers(list) as Record<string, string>)).to.deep.equal(list);
  });
});
