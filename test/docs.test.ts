/**
 * The API reference is generated from TSDoc (typedoc.json, `npm run docs`), and an
 * undocumented public export fails it: typedoc's `notDocumented` validation reports it as
 * a warning, and `treatWarningsAsErrors` turns the warning into a non-zero exit.
 *
 * The first test runs typedoc over lib/index.ts exactly as `npm run docs` does, but
 * without writing HTML (`--emit none`); it takes about 10 s, most of it building the
 * TypeScript program (type errors are tsc's job, so typedoc skips checking them). The
 * second proves that the configuration fails on a fixture with an undocumented export.
 * The last one checks the relative links of the hand-written guides.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
