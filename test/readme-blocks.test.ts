/**
 * Every fenced code block in README.md and docs/*.md says what it is, and is checked as
 * such. The convention (CONTRIBUTING.md, "Code blocks in the docs"):
 *
 * - A complete program is a `ts` block right after the line `<!-- example: NAME -->`. It
 *   is an ES module that runs to completion: written to a temporary directory as
 *   `NAME.mts`, type-checked with all the others in one `tsc --strict` run (module
 *   nodenext, `wsproto` resolving through this checkout's package.json "exports"),
 *   compiled to `NAME.mjs` and run with node; it must exit with 0.
 * - `<!-- example: NAME (echo server) -->` marks a complete program that serves until it
 *   is stopped: it listens on `process.env.PORT`, prints its `ws://` URL, and echoes text
 *   messages. The test starts it with PORT=0, checks one echo, and stops it with SIGTERM.
 * - `<!-- example: NAME (ws) -->` marks a complete program written against `ws` (the
 *   devDependency, 8.x), shown beside ours for comparison (docs/from-ws.md). It is
 *   type-checked against the installed `@types/ws` and run exactly like the others, so the
 *   comparison shows code that works; it must import from 'ws' and not from 'wsproto', and
 *   no other block may import 'ws'.
 * - A fragment is a `ts` block whose first line says, visibly, where it comes from:
 *   `// fragment of examples/pipeline/main.ts`. Its other lines must be an excerpt of that
 *   file, in order (a line starting with `// ...` marks an elision), and a test in test/
 *   must run that example.
 * - A `sh` block holds commands a reader types: each must be a real npm script, a file that
 *   exists, or a program that the build produces.
 * - A configuration file of another program (nginx ...) is a block in that program's
 *   language (`nginx`, never `ts` or `sh`) right after `<!-- config: FILE -->`. Its lines
 *   must be an excerpt of FILE, in order (a line starting with `# ...` marks an elision),
 *   and a test must load FILE (a file under test/ names its path): so the configuration
 *   a guide shows is the one a test runs (docs/deployment.md: nginx, through
 *   test/helpers/nginx.ts).
 *
 * Any other block fails the first test, naming its file and line.
 */
import { expect } from 'chai';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../lib/index';
import { once, sleep, until } from './helpers/net';

const root = path.join(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

interface Block {
  /** README.md or docs/x.md, and the line of the opening fence (1-based). */
  file: string;
  line: number;
  lang: string;
  code: string;
  /** The `<!-- example: ... -->` or `<!-- config: ... -->` comment right before the fence, if any. */
  marker: string | null;
}

type Kind =
  | { kind: 'program'; name: string; server: boolean; ws: boolean }
  | { kind: 'fragment'; of: string }
  | { kind: 'config'; of: string }
  | { kind: 'shell' }
  | { kind: 'undeclared'; why: string };

function extractBlocks(file: string): Block[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const indent = open[1]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trimEnd() !== `${indent}\`\`\``) end++;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const previous = before >= 0 ? lines[before]!.trim() : '';
    blocks.push({
      file,
      line: i + 1,
      lang: open[2]!,
      code: lines
        .slice(i + 1, end)
        .map((l) => l.slice(indent.length))
        .join('\n'),
      marker: /^<!--\s*(example|config):.*-->$/.test(previous) ? previous : null,
    });
    i = end;
  }
  return blocks;
}

function classify(block: Block): Kind {
  const config = /^<!--\s*config:\s*(\S+)\s*-->$/.exec(block.marker ?? '');
  if (config !== null) {
    if (block.lang === 'ts' || block.lang === 'sh' || block.lang === '') {
      return { kind: 'undeclared', why: `a config marker before a "${block.lang}" block (name the file's language)` };
    }
    return { kind: 'config', of: config[1]! };
  }
  if (block.lang === 'sh') return { kind: 'shell' };
  if (block.lang !== 'ts') {
    return {
      kind: 'undeclared',
      why: `language "${block.lang}" is neither ts nor sh, and no \`<!-- config: FILE -->\` says which file it shows`,
    };
  }
  const fragment = /^\/\/ fragment of (\S+)\s*$/.exec(block.code.split('\n')[0]!);
  if (fragment !== null) {
    if (block.marker !== null) return { kind: 'undeclared', why: 'both an example marker and a fragment line' };
    return { kind: 'fragment', of: fragment[1]! };
  }
  const example = /^<!--\s*example:\s*([a-z0-9-]+)(?:\s+\((echo server|ws)\))?\s*-->$/.exec(block.marker ?? '');
  if (example !== null) {
    return { kind: 'program', name: example[1]!, server: example[2] === 'echo server', ws: example[2] === 'ws' };
  }
  if (block.marker !== null) return { kind: 'undeclared', why: `malformed marker ${block.marker}` };
  return {
    kind: 'undeclared',
    why: 'neither `<!-- example: name -->` before it nor `// fragment of <file>` as its first line',
  };
}

const guides = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const blocks = guides.flatMap(extractBlocks);
const where = (b: Block) => `${b.file}:${b.line}`;
const programs = blocks.flatMap((b) => {
  const k = classify(b);
  return k.kind === 'program' ? [{ block: b, name: k.name, server: k.server, ws: k.ws }] : [];
});

function runFile(
  command: string,
  args: string[],
  cwd: string,
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The temporary project the complete programs are compiled and run in. */
let project = '';
let typeCheck: { code: number | null; stdout: string; stderr: string } | null = null;

async function compileAll(): Promise<void> {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-blocks-'));
  // `wsproto` is this checkout, resolved as a user's project resolves it: through the
  // "exports" of package.json (dist/lib/index.mjs for import, its .d.ts for types).
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(root, path.join(project, 'node_modules', 'wsproto'), 'dir');
  fs.symlinkSync(path.join(root, 'node_modules', '@types'), path.join(project, 'node_modules', '@types'), 'dir');
  // `ws` too, for the `(ws)` programs of docs/from-ws.md: the devDependency, as installed.
  fs.symlinkSync(path.join(root, 'node_modules', 'ws'), path.join(project, 'node_modules', 'ws'), 'dir');
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'blocks', private: true }));
  for (const p of programs) fs.writeFileSync(path.join(project, `${p.name}.mts`), `${p.block.code}\n`);
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: ['node'],
        skipLibCheck: true,
        outDir: 'out',
      },
      files: programs.map((p) => `${p.name}.mts`),
    }),
  );
  // One tsc run for every program: it type-checks them and writes out/NAME.mjs.
  typeCheck = await runFile(process.execPath, [tsc, '-p', project, '--pretty', 'false'], project, 60000);
}

const output = (name: string) => path.join(project, 'out', `${name}.mjs`);

/** What each complete program printed, by name, for the checks that compare programs. */
const runs = new Map<string, { code: number | null; stdout: string; stderr: string }>();

async function runProgram(name: string) {
  const run = await runFile(process.execPath, [output(name)], project, 15000);
  runs.set(name, run);
  return run;
}

async function stdoutOf(name: string): Promise<string> {
  return (runs.get(name) ?? (await runProgram(name))).stdout;
}

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

async function startServer(name: string): Promise<Server> {
  const child = spawn(process.execPath, [output(name)], { cwd: project, env: { ...process.env, PORT: '0' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const url = /ws:\/\/127\.0\.0\.1:(\d+)\//;
  await until(() => url.test(out) || child.exitCode !== null, 10000, `${name} to print its ws:// URL`);
  const found = url.exec(out);
  if (found === null) throw new Error(`${name} exited with ${child.exitCode}: ${err}`);
  return { child, url: found[0], port: Number(found[1]), stdout: () => out, stderr: () => err };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit', 5000).catch(() => null);
  server.child.kill('SIGTERM');
  await exited;
}

/** One text message there and back with our client; resolves with the reply. */
async function echo(url: string, text: string): Promise<string> {
  const client = await connect(url, { connectTimeout: 5000, handshakeTimeout: 5000 });
  const reply = once<[string]>(client, 'message');
  client.send(text);
  const [data] = await reply;
  const closed = once(client, 'close');
  client.close(1000, 'probe done');
  await closed;
  return String(data);
}

/** A plain HTTP request, as `curl http://127.0.0.1:PORT/` sends it; resolves with the response. */
function plainHttpRequest(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (response += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(response));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer, got ${JSON.stringify(response)}`)));
    socket.end('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n');
  });
}

/** Under a plain HTTP request, the server answers 4xx and is still up (and still echoes). */
async function survivesPlainHttp(name: string): Promise<void> {
  const server = await startServer(name);
  try {
    const response = await plainHttpRequest(server.port);
    expect(response, `stderr: ${server.stderr()}`).to.match(/^HTTP\/1\.1 4\d\d /);
    await sleep(100);
    expect(server.child.exitCode, `the server died: ${server.stderr()}`).to.equal(null);
    expect(await echo(server.url, 'still here')).to.equal('still here');
  } finally {
    await stopServer(server);
  }
}

/**
 * The first line of `excerpt` that is not in `source` after the lines before it (lines
 * compared without indentation; blank lines and lines starting with `elision` skipped),
 * or null when the excerpt is faithful.
 */
function firstLineNotInOrder(excerpt: string[], source: string, elision: string): string | null {
  const lines = source.split('\n').map((l) => l.trim());
  let at = 0;
  for (const wanted of excerpt) {
    const w = wanted.trim();
    if (w === '' || w.startsWith(elision)) continue;
    const found = lines.indexOf(w, at);
    if (found === -1) return w;
    at = found + 1;
  }
  return null;
}

/** Every .ts file under test/ (helpers included), as [path from the root, text]. */
function testSources(): Array<[string, string]> {
  return fs
    .readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [`test/${f}`, fs.readFileSync(path.join(root, 'test', f), 'utf8')]);
}

function programNamed(name: string): (typeof programs)[number] {
  const p = programs.find((q) => q.name === name);
  if (p === undefined) throw new Error(`no example named ${name} in ${guides.join(', ')}`);
  return p;
}

describe('README and docs: every code block is a checked program, a checked fragment, or shell', function () {
  this.timeout(60000);

  before(compileAll);
  after(() => {
    if (project !== '') fs.rmSync(project, { recursive: true, force: true });
  });

  it('every fenced block declares what it is', () => {
    expect(blocks.length).to.be.greaterThan(5);
    const undeclared = blocks.flatMap((b) => {
      const k = classify(b);
      return k.kind === 'undeclared' ? [`${where(b)}: ${k.why}`] : [];
    });
    expect(undeclared).to.deep.equal([]);
    const names = programs.map((p) => p.name);
    expect(names, 'example names are unique').to.deep.equal([...new Set(names)]);
  });

  // Regression: the README's snippets used `ws`, `url`, `req`, `client` ... that they never declared.
  it('snippets reference no undeclared names: every complete program type-checks (tsc --strict, nodenext)', () => {
    expect(programs.length).to.be.greaterThan(0);
    expect(`${typeCheck!.stdout}${typeCheck!.stderr}`.trim()).to.equal('');
    expect(typeCheck!.code).to.equal(0);
  });

  it('`(ws)` programs import ws and not wsproto; no other block imports ws', () => {
    const importsOf = (code: string) => [...code.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
    const wrong = blocks.flatMap((b) => {
      const k = classify(b);
      const sources = importsOf(b.code);
      if (k.kind === 'program' && k.ws) {
        return sources.includes('ws') && !sources.includes('wsproto')
          ? []
          : [`${where(b)}: a (ws) program must import ws, not wsproto`];
      }
      return sources.includes('ws') ? [`${where(b)}: imports ws without the (ws) marker`] : [];
    });
    expect(wrong).to.deep.equal([]);
  });

  for (const { block, name, server, ws } of programs) {
    if (server) {
      it(`${where(block)}: example "${name}" serves, echoes, and stops on SIGTERM`, async () => {
        const s = await startServer(name);
        try {
          expect(await echo(s.url, `hello ${name}`)).to.equal(`hello ${name}`);
        } finally {
          await stopServer(s);
        }
      });
    } else {
      it(`${where(block)}: example "${name}"${ws ? ' (written for ws)' : ''} runs to completion`, async () => {
        const run = await runProgram(name);
        expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).to.equal(0);
        expect(run.stderr).to.equal('');
      });
    }
  }

  for (const block of blocks) {
    const k = classify(block);
    if (k.kind !== 'fragment') continue;
    it(`${where(block)}: a verbatim excerpt of ${k.of}, which a test runs`, () => {
      const source = path.join(root, k.of);
      expect(fs.existsSync(source), `${k.of} exists`).to.equal(true);
      const missing = firstLineNotInOrder(block.code.split('\n').slice(1), fs.readFileSync(source, 'utf8'), '// ...');
      expect(missing, `this line is in ${k.of}, after the lines before it`).to.equal(null);
      // examples/<dir>/<file>.ts runs as dist/examples/<dir>/<file>.js: some test names it.
      const example = /^examples\/([^/]+)\/([^/]+)\.ts$/.exec(k.of);
      expect(example, `${k.of} is a program under examples/`).to.not.equal(null);
      const [, dir, base] = example!;
      const tests = fs
        .readdirSync(path.join(root, 'test'))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => fs.readFileSync(path.join(root, 'test', f), 'utf8'));
      const names = base === 'main' ? [`'${dir}'`] : [`'${dir}/${base}.js'`];
      expect(
        tests.some((t) => names.some((n) => t.includes(n))),
        `a test in test/ runs ${k.of}`,
      ).to.equal(true);
    });
  }

  for (const block of blocks) {
    const k = classify(block);
    if (k.kind !== 'config') continue;
    it(`${where(block)}: a verbatim excerpt of ${k.of}, which a test loads`, () => {
      const source = path.join(root, k.of);
      expect(fs.existsSync(source), `${k.of} exists`).to.equal(true);
      const missing = firstLineNotInOrder(block.code.split('\n'), fs.readFileSync(source, 'utf8'), '# ...');
      expect(missing, `this line is in ${k.of}, after the lines before it`).to.equal(null);
      const loaders = testSources().filter(([, text]) => text.includes(k.of));
      expect(
        loaders.map(([file]) => file),
        `a file under test/ names ${k.of}`,
      ).to.not.deep.equal([]);
    });
  }

  it('the config rule fails on a line its file lacks, or holds out of order, and allows `# ...` elisions', () => {
    const file = [
      'map $http_upgrade $connection_upgrade {',
      '    default upgrade;',
      '}',
      'proxy_read_timeout 60s;',
    ].join('\n');
    expect(firstLineNotInOrder(['map $http_upgrade $connection_upgrade {', '# ...', '}'], file, '# ...')).to.equal(
      null,
    );
    expect(firstLineNotInOrder(['proxy_read_timeout 3600s;'], file, '# ...')).to.equal('proxy_read_timeout 3600s;');
    expect(firstLineNotInOrder(['proxy_read_timeout 60s;', '    default upgrade;'], file, '# ...')).to.equal(
      'default upgrade;',
    );
  });

  it('shell blocks: every command is an npm script, a file that exists, or a program the build makes', () => {
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    const unknown: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'sh')) {
      for (const line of block.code.split('\n')) {
        const commands = line.replace(/(^|\s)#.*$/, '').trim();
        if (commands === '') continue;
        for (const command of commands.split('&&').map((c) => c.trim())) {
          const words = command.split(/\s+/);
          const ok =
            command === 'npm install' ||
            command === 'npm ci' ||
            (words[0] === 'npm' && (words[1] === 'test' || words[1] === 'start') && words[1] in scripts) ||
            (words[0] === 'npm' && words[1] === 'run' && words[2] !== undefined && words[2] in scripts) ||
            (words[0] === 'bash' && words.length === 2 && fs.existsSync(path.join(root, words[1]!))) ||
            (words[0] === 'node' &&
              /^dist\/.*\.js$/.test(words[1] ?? '') &&
              fs.existsSync(path.join(root, words[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts'))));
          if (!ok) unknown.push(`${where(block)}: ${command}`);
        }
      }
    }
    expect(unknown).to.deep.equal([]);
  });

  // docs/from-ws.md shows each task twice: NAME written for ws, NAME-ours for wsproto.
  const pairs = programs.filter((p) => p.ws && programs.some((q) => q.name === `${p.name}-ours` && !q.ws));
  it('docs/from-ws.md: every ws program has its wsproto counterpart (NAME and NAME-ours)', () => {
    expect(pairs.map((p) => p.name)).to.deep.equal(programs.filter((p) => p.ws).map((p) => p.name));
    expect(pairs.length).to.be.greaterThan(3);
  });
  for (const { name } of pairs.filter((p) => p.name !== 'from-ws-errors')) {
    it(`docs/from-ws.md: "${name}" and "${name}-ours" print the same lines (ws and wsproto do the same thing)`, async () => {
      const lines = async (n: string) => (await stdoutOf(n)).trim().split('\n').sort();
      const theirs = await lines(name);
      expect(theirs.length).to.be.greaterThan(0);
      expect(await lines(`${name}-ours`)).to.deep.equal(theirs);
    });
  }
  it('docs/from-ws.md: a message over the limit is an error event in ws, the cause of close in wsproto', async () => {
    const theirs = await stdoutOf('from-ws-errors');
    const ours = await stdoutOf('from-ws-errors-ours');
    expect(theirs).to.include('server: error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH').and.include('client: closed 1009');
    expect(ours).to.include('clean: false, cause: ERR_FRAME_TOO_BIG').and.include('client: closed 1009');
  });

  // Regressions, named after what they pin.

  it('README: the handleUpgrade + connect example is not refused with 403 by its own verifyOrigin', async () => {
    const run = await runProgram(programNamed('upgrade-and-connect').name);
    expect(run.stderr).to.not.include('403');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('echo: hello');
    expect(run.stdout).to.include('closed: 1000 bye');
  });

  it('README: the net + WebSocketDuplex echo server survives a plain HTTP request (answers 4xx, stays up)', async () => {
    await survivesPlainHttp(programNamed('stream-echo-server').name);
  });

  it('README: the sans-I/O echo server survives a plain HTTP request (answers 4xx, stays up)', async () => {
    await survivesPlainHttp(programNamed('sans-io-echo-server').name);
  });
});
