/**
 * The API reference is generated from TSDoc (typedoc.json, `npm run docs`), and an
 * undocumented public export fails it: typedoc's `notDocumented` validation reports it as
 * a warning, and `treatWarningsAsErrors` turns the warning into a non-zero exit.
 *
 * The first test runs typedoc over lib/index.ts exactly as `npm run docs` does, but
 * without writing HTML (`--emit none`); it takes about 10 s, most of it building the
 * TypeScript program (type errors are tsc's job, so typedoc skips checking them). The
 * second proves that the configuration fails on a fixture with an undocumented export.
 *
 * The site itself is generated once into a temporary directory (`--out`, about 15 s) and
 * read back: the events page gives each event's arguments, every option shows its
 * default (`@defaultValue`), the README (the site's index) and the guides (`@document` in
 * lib/index.ts) link only to files the site holds, and the search index finds 'message'.
 * The last describe checks the relative links of the hand-written guides on GitHub.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const root = path.join(__dirname, '..', '..');
const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');

function runTypedoc(cwd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [typedoc, ...args],
      { cwd, timeout: 120000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        // eslint-disable-next-line no-control-regex
        resolve({ code, output: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
      },
    );
  });
}

describe('API reference (typedoc)', function () {
  this.timeout(120000);

  it('every public export of lib/index.ts has TSDoc (npm run docs, without writing HTML)', async () => {
    const { code, output } = await runTypedoc(root, ['--emit', 'none']);
    const problems = output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
    expect(problems, `typedoc reported:\n${output}`).to.deep.equal([]);
    expect(code, output).to.equal(0);
  });

  it('fails, naming it, when an export has no TSDoc (the typedoc.json rules on a fixture)', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'typedoc.json'), 'utf8')) as Record<string, unknown>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-docs-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'index.ts'),
        [
          '/** Documented. */',
          'export function documented(): void {}',
          'export function undocumentedFunction(): void {}',
          '/** A documented class. */',
          'export class Thing {',
          '  constructor(readonly size: number) {}',
          '}',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', version: '1.0.0' }));
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { strict: true, types: [], skipLibCheck: true }, files: ['index.ts'] }),
      );
      const fixture: Record<string, unknown> = {
        ...config,
        entryPoints: ['index.ts'],
        tsconfig: 'tsconfig.json',
        name: 'fixture',
      };
      delete fixture.intentionallyNotExported;
      fs.writeFileSync(path.join(dir, 'typedoc.json'), JSON.stringify(fixture));
      const { code, output } = await runTypedoc(dir, ['--emit', 'none']);
      expect(code, output).to.not.equal(0);
      expect(output).to.match(/undocumentedFunction .*does not have any documentation/);
      expect(output).to.match(/Thing\.constructor .*does not have any documentation/);
      expect(output).to.match(/Thing\.size .*does not have any documentation/);
      expect(output).to.not.match(/\bdocumented \(/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the generated reference is not committed (docs/api/ is in .gitignore)', () => {
    const ignored = fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n');
    expect(ignored).to.include('docs/api/');
  });
});

/** The text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed. */
function textOf(htmlFragment: string): string {
  return htmlFragment
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The member sections of a typedoc page, by anchor (the member's name in lower case). */
function members(page: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const section of page.split('<section class="tsd-panel tsd-member').slice(1)) {
    const id = /<h3 class="tsd-anchor-link"[^>]*\bid="([^"]+)"/.exec(section);
    if (id !== null) out.set(id[1]!, section);
  }
  return out;
}

describe('API reference site (typedoc --out into a temporary directory)', function () {
  this.timeout(120000);
  let out = '';
  let run: { code: number; output: string } = { code: -1, output: '' };
  const page = (file: string) => fs.readFileSync(path.join(out, file), 'utf8');

  before(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-api-'));
    run = await runTypedoc(root, ['--out', out]);
  });
  after(() => {
    if (out !== '') fs.rmSync(out, { recursive: true, force: true });
  });

  it('generates without a warning; the README is its index, the guides are its documents', () => {
    expect(
      run.output.split('\n').filter((line) => /\[(warning|error)\]/.test(line)),
      run.output,
    ).to.deep.equal([]);
    expect(run.code, run.output).to.equal(0);
    expect(textOf(page('index.html'))).to.include('A WebSocket protocol stack for Node.js');
    for (const guide of fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md'))) {
      expect(fs.existsSync(path.join(out, 'documents', guide.replace(/\.md$/, '.html'))), guide).to.equal(true);
    }
  });

  it("the events page lists each event with its arguments ('message': data: string | Buffer, isBinary: boolean)", () => {
    const events = members(page('interfaces/WebSocketDuplexEvents.html'));
    const args = (name: string) => textOf(events.get(name) ?? '');
    expect(args('message')).to.match(/message: \[data: string \| Buffer(<ArrayBufferLike>)?, isBinary: boolean\]/);
    expect(args('message')).to.include('A whole message');
    expect(args('close')).to.include('close: [code: number, reason: string, wasClean: boolean, cause: Error | null]');
    for (const name of ['open', 'ping', 'pong', 'error', 'request']) expect(events.has(name), name).to.equal(true);
  });

  // HeadLimits is not exported: its options are documented where they are used.
  const optionPages: Array<[string, string, string[]]> = [
    ['WebSocketDuplexOptions', 'interfaces/WebSocketDuplexOptions.html', ['handshaketimeout', 'permessagedeflate']],
    [
      'ConnectOptions',
      'interfaces/ConnectOptions.html',
      ['subprotocols', 'headers', 'tls', 'connecttimeout', 'proxy', 'followredirects', 'createconnection'],
    ],
    ['UpgradeOptions', 'interfaces/UpgradeOptions.html', ['verifyorigin', 'selectsubprotocol', 'accept']],
    [
      'WebSocketServerOptions',
      'interfaces/WebSocketServerOptions.html',
      ['port', 'server', 'noserver', 'path', 'slowclient', 'shutdowntimeout', 'permessagedeflate'],
    ],
    ['SlowClientPolicy', 'interfaces/SlowClientPolicy.html', ['limit', 'policy', 'queue', 'closecode']],
    ['ServerCloseOptions', 'interfaces/ServerCloseOptions.html', ['code', 'reason', 'timeout']],
    ['PerMessageDeflateOptions', 'interfaces/PerMessageDeflateOptions.html', ['threshold', 'inflatebackend']],
    ['FrameLimits', 'interfaces/FrameLimits.html', ['maxmessagesize', 'maxframesize']],
    ['HeadLimits (on WSConnectionOptions)', 'interfaces/WSConnectionOptions.html', ['maxheadsize', 'maxheaders']],
  ];
  for (const [name, file, expected] of optionPages) {
    it(`${name}: every option shows its default`, () => {
      const options = members(page(file));
      expect([...options.keys()]).to.include.members(expected);
      const without = [...options].filter(([, section]) => !section.includes('Default Value')).map(([id]) => id);
      expect(without, `options of ${name} without a default`).to.deep.equal([]);
    });
  }

  it('every relative link of the index and the guides leads to a file of the site (and an anchor on it)', () => {
    const pages = ['index.html', ...fs.readdirSync(path.join(out, 'documents')).map((f) => `documents/${f}`)];
    const broken: string[] = [];
    for (const file of pages) {
      const html = page(file);
      const content = html.slice(html.indexOf('<div class="tsd-panel tsd-typography">'));
      for (const [, href] of content.matchAll(/<a href="([^"]+)"/g)) {
        if (/^[a-z]+:/i.test(href!) || href!.startsWith('assets/')) continue;
        const [target, anchor] = href!.split('#') as [string, string | undefined];
        const resolved =
          target === '' ? path.join(out, file) : path.resolve(path.dirname(path.join(out, file)), target);
        const exists = fs.existsSync(resolved) && fs.statSync(resolved).isFile();
        const asIndex = exists ? resolved : path.join(resolved, 'index.html');
        if (!fs.existsSync(asIndex)) broken.push(`${file}: ${href} (no such file)`);
        else if (
          anchor !== undefined &&
          anchor !== '' &&
          !fs.readFileSync(asIndex, 'utf8').includes(`id="${anchor}"`)
        ) {
          broken.push(`${file}: ${href} (no such anchor)`);
        }
      }
    }
    // A link to a directory (the README's examples/<dir>) can become neither a page nor a
    // copied file. Issue 13 makes those README links absolute (they must work on the
    // registry's page too); until then they are the only broken links allowed, and this
    // list empties by itself.
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const directories = [...readme.matchAll(/\]\(([^)\s#]+)\)/g)]
      .map((m) => m[1]!)
      .filter(
        (t) =>
          !/^[a-z]+:/i.test(t) && fs.existsSync(path.join(root, t)) && fs.statSync(path.join(root, t)).isDirectory(),
      );
    const allowed = new Set(directories.map((d) => `index.html: media/${path.basename(d)} (no such file)`));
    expect(broken.filter((b) => !allowed.has(b))).to.deep.equal([]);
  });

  it("the search index finds 'message' (the event of WebSocketDuplexEvents)", () => {
    const script = page('assets/search.js');
    const data = /window\.searchData = "([^"]+)"/.exec(script);
    expect(data, 'assets/search.js holds window.searchData').to.not.equal(null);
    const index = JSON.parse(zlib.inflateSync(Buffer.from(data![1]!, 'base64')).toString('utf8')) as {
      rows: Array<{ name: string; url: string; parent?: string }>;
    };
    const message = index.rows.filter((r) => r.name === 'message');
    expect(message.map((r) => r.parent)).to.include('WebSocketDuplexEvents');
    expect(message.map((r) => r.url)).to.include('interfaces/WebSocketDuplexEvents.html#message');
  });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, each space a hyphen. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (fenced || heading === null) continue;
    out.add(
      heading[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return out;
}

describe('guides: relative links resolve', () => {
  const guides = ['README.md', 'CONTRIBUTING.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)]
    .filter((f) => f.endsWith('.md'))
    .filter((f) => fs.existsSync(path.join(root, f)));

  for (const guide of guides) {
    it(`${guide}: every relative link names a file that exists, and an anchor that exists`, () => {
      const text = fs.readFileSync(path.join(root, guide), 'utf8');
      const broken: string[] = [];
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue; // https:, mailto: ...
        const [file, anchor] = target!.split('#') as [string, string | undefined];
        const resolved =
          file === '' ? path.join(root, guide) : path.resolve(path.dirname(path.join(root, guide)), file);
        if (!fs.existsSync(resolved)) {
          broken.push(`${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md')) {
          if (!anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${target} (no such heading)`);
        }
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
