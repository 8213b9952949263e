/** The public surface: exactly these names, from both `require` and `import`. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../lib/index';

const EXPECTED = [
  'AcceptConnection',
  'DEFAULT_THRESHOLD',
  'PerMessageDeflate',
  'HandshakeRejectedError',
  'ProxyRejectedError',
  'ConnectError',
  'AbortError',
  'WebSocketDuplex',
  'connect',
  'handleHttp2Stream',
  'handleUpgrade',
  'isWebSocketConnect',
  'BytesMessage',
  'CloseConnection',
  'CloseReason',
  'Connection',
  'ConnectionState',
  'ConnectionType',
  'DEFAULT_MAX_MESSAGE_SIZE',
  'LocalProtocolError',
  'Opcode',
  'Ping',
  'Pong',
  'RejectConnection',
  'RejectData',
  'RemoteProtocolError',
  'Request',
  'TextMessage',
  'isValidWireCode',
  'WSConnection',
  'PreparedMessage',
  'WebSocketServer',
  'WebSocket',
  'CloseEvent',
  'WebSocketStream',
  'WebSocketError',
];

const root = path.join(__dirname, '..', '..');

describe('public surface (lib/index.ts)', () => {
  it('exports exactly the documented names', () => {
    expect(
      Object.keys(api)
        .filter((k) => k !== '__esModule')
        .sort(),
    ).to.deep.equal([...EXPECTED].sort());
  });

  it("events carry wsproto's type literals", () => {
    expect(new api.TextMessage({ data: '' }).type).to.equal('text');
    expect(new api.BytesMessage({ data: Buffer.alloc(0) }).type).to.equal('bytes');
    expect(new api.Ping().type).to.equal('ping');
    expect(new api.Pong().type).to.equal('pong');
    expect(new api.CloseConnection({ code: 1000 }).type).to.equal('close');
    expect(new api.Request({ host: 'h', target: '/' }).type).to.equal('request');
    expect(new api.AcceptConnection().type).to.equal('accept');
    expect(new api.RejectConnection().type).to.equal('reject');
    expect(new api.RejectData({ data: Buffer.alloc(0) }).type).to.equal('reject-data');
  });

  it("require('wsproto') works (CommonJS, through package.json exports)", () => {
    const out = execFileSync(
      process.execPath,
      ['-e', "const w = require('wsproto'); console.log(typeof w.Connection, typeof w.WSConnection)"],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(out.trim().split(' ')[0]).to.equal('function');
  });

  it("import { Connection } from 'wsproto' works (ESM) and shares classes with require", () => {
    const script =
      "import { Connection, TextMessage } from 'wsproto'; import { createRequire } from 'node:module';" +
      "const cjs = createRequire(process.cwd() + '/x.js')('wsproto');" +
      "console.log(typeof Connection, new TextMessage({ data: 'x' }) instanceof cjs.TextMessage);";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).to.equal('function true');
  });

  it("every stable error code (lib/errors.ts, the client's errors) is listed in the README's error handling", () => {
    const source = ['lib/errors.ts', 'lib/stream/client/errors.ts']
      .map((f) => fs.readFileSync(path.join(root, f), 'utf8'))
      .join('\n');
    const codes = [...new Set(source.match(/'ERR_[A-Z0-9_]+'/g) ?? [])].map((c) => c.slice(1, -1));
    expect(codes.length).to.be.greaterThan(36);
    expect(codes).to.include('ERR_PROXY_REJECTED');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Error handling'), readme.indexOf('## Conformance'));
    expect(codes.filter((code) => !section.includes(`\`${code}\``))).to.deep.equal([]);
  });
});
