/** Regression tests for bugs found in the extension path, named after what they pin. */
import { expect } from 'chai';
import { Connection, TextMessage } from '../../lib/index';
import { PerMessageDeflate } from '../../lib/extensions/permessage-deflate';
import { merge } from '../helpers/bytes';

describe('regressions: permessage-deflate and the size limit', () => {
  it('continuation frames of a compressed message are not counted by their wire length against maxMessageSize', () => {
    // A 1000-character message sent as a compressed fragment plus an empty final
    // fragment: before the fix, the client added the continuation's compressed length
    // to the inflated count and failed with 1009 at exactly maxMessageSize.
    const serverExt = new PerMessageDeflate({ threshold: 0 });
    expect(serverExt.accept({ name: 'permessage-deflate', params: [] })).to.not.equal(null);
    const clientExt = new PerMessageDeflate();
    clientExt.finalize({ name: 'permessage-deflate', params: [] });
    const server = new Connection('server', { extensions: [serverExt] });
    const client = new Connection('client', { extensions: [clientExt], maxMessageSize: 1000 });
    const text = 'abcdefghij'.repeat(100);
    client.receiveData(server.send(new TextMessage({ data: text, messageFinished: false })));
    client.receiveData(server.send(new TextMessage({ data: '' })));
    expect(merge([...client.events()])).to.deep.equal([{ type: 'text', data: text }]);
  });

  it('a compressed message one byte over maxMessageSize still fails with 1009', () => {
    const serverExt = new PerMessageDeflate({ threshold: 0 });
    serverExt.accept({ name: 'permessage-deflate', params: [] });
    const clientExt = new PerMessageDeflate();
    clientExt.finalize({ name: 'permessage-deflate', params: [] });
    const server = new Connection('server', { extensions: [serverExt] });
    const client = new Connection('client', { extensions: [clientExt], maxMessageSize: 1000 });
    client.receiveData(server.send(new TextMessage({ data: 'a'.repeat(600), messageFinished: false })));
    client.receiveData(server.send(new TextMessage({ data: 'a'.repeat(401) })));
    const events = merge([...client.events()], false);
    expect(events.at(-1)).to.deep.equal({ type: 'close', code: 1009, reason: '' });
  });
});
