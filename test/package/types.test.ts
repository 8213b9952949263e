/**
 * The packed package's types, as consumers see them. `attw` (@arethetypeswrong/cli) checks
 * every resolution mode over the tarball; then TypeScript consumer projects, installed like
 * the others (test/package/packed.ts), compile with `strict` under each module resolution
 * (node10, node16 and nodenext from CommonJS and from ESM, bundler), the default `target`
 * and the default `skipLibCheck` (false, so the shipped declarations are checked too), and
 * their output runs. Each project is left with its tsconfig.json: `tsc -p` there reports
 * the same. Here the program is built in-process and every file except @types/node and the
 * default libraries is checked, which gives tsc's diagnostics for those files in a fraction
 * of the time (@types/node is checked by its publisher).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { EXPECTED_OUTPUT, TS_ASSERTIONS, TS_CONSUMER, TS_DEFAULT_IMPORT } from './consumers';
import { type Packed, packed, requireInstall, root, run } from './packed';

interface Project {
  name: string;
  /** Besides `strict: true`; never a target. */
  options: Record<string, string>;
  /** The package.json `type` of the project's directory. */
  type?: 'module';
  /** File name to contents. */
  files: Record<string, string>;
  /** Files whose one expected error is TS1192 (no default export). */
  defaultImport: string[];
  /** The emitted programs to run. */
  run: string[];
}

function both(module: 'node16' | 'nodenext'): Project {
  return {
    name: `${module} (CommonJS and ESM)`,
    options: { module, moduleResolution: module },
    files: {
      'consumer-cjs.cts': TS_CONSUMER,
      'assertions-cjs.cts': TS_ASSERTIONS,
      'consumer-esm.mts': TS_CONSUMER,
      'assertions-esm.mts': TS_ASSERTIONS,
      'default-import.mts': TS_DEFAULT_IMPORT,
    },
    defaultImport: ['default-import.mts'],
    run: ['consumer-cjs.cjs', 'consumer-esm.mjs'],
  };
}

const PROJECTS: Project[] = [
  {
    name: 'node10 (CommonJS, target ES5)',
    options: { module: 'commonjs', moduleResolution: 'node10' },
    files: { 'consumer.ts': TS_CONSUMER, 'assertions.ts': TS_ASSERTIONS },
    defaultImport: [],
    run: ['consumer.js'],
  },
  both('node16'),
  both('nodenext'),
  {
    name: 'bundler (ESM, target ES5)',
    options: { module: 'esnext', moduleResolution: 'bundler' },
    type: 'module',
    files: { 'consumer.ts': TS_CONSUMER, 'assertions.ts': TS_ASSERTIONS, 'default-import.ts': TS_DEFAULT_IMPORT },
    defaultImport: ['default-import.ts'],
    run: ['consumer.js'],
  },
];

/** Compiles the project in `dir` as `tsc -p dir` would; returns its diagnostics, one line each. */
function compile(dir: string): string[] {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  };
  const config = ts.getParsedCommandLineOfConfigFile(path.join(dir, 'tsconfig.json'), {}, host)!;
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    configFileParsingDiagnostics: config.errors,
  });
  const checked = program
    .getSourceFiles()
    .filter((f) => !program.isSourceFileDefaultLibrary(f))
    .filter((f) => !f.fileName.includes('/node_modules/') || f.fileName.includes('/node_modules/wsproto/'));
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
    // One root at a time: emit() without a file would check every file, @types/node too.
    ...config.fileNames.flatMap((f) => program.emit(program.getSourceFile(f)).diagnostics),
  ];
  return diagnostics.map((d) => {
    const where =
      d.file === undefined
        ? ''
        : `${path.relative(dir, d.file.fileName)}(${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}): `;
    return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

describe('the npm package: types in every resolution mode', function () {
  this.timeout(180000);

  let p: Packed;
  before(async () => {
    p = await packed();
  });

  it('attw (@arethetypeswrong/cli) finds no problem in the tarball: node10, node16 from CJS and ESM, bundler', async () => {
    const cli = path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist', 'index.js');
    const json = await run(process.execPath, [cli, p.tarball, '--format', 'json'], p.dir, 60000);
    const report = JSON.parse(json.stdout) as { problems?: unknown; analysis: { problems?: unknown[] } };
    if (json.code !== 0 || (report.analysis.problems ?? []).length > 0) {
      const table = await run(process.execPath, [cli, p.tarball, '--format', 'ascii'], p.dir, 60000);
      expect.fail(`attw found problems:\n${table.stdout}${table.stderr}`);
    }
  });

  it('ships declarations without #private markers (TS18028 before ES2015) or readable-stream types', () => {
    const offending = p.files
      .filter((f) => /\.d\.m?ts$/.test(f))
      .filter((f) => /^\s*#private;|['"]readable-stream['"]/m.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(offending).to.deep.equal([]);
  });

  for (const project of PROJECTS) {
    it(`TypeScript consumer, moduleResolution ${project.name}: compiles with strict and runs`, async function () {
      requireInstall(this, p);
      const dir = path.join(p.project, project.name.replace(/ .*/, ''));
      fs.mkdirSync(dir, { recursive: true });
      // The consumer's @types/node: this repository's (the declarations use node:http and
      // node:stream, as any Node program's types do).
      const types = path.join(p.project, 'node_modules', '@types');
      if (!fs.existsSync(path.join(types, 'node'))) {
        fs.mkdirSync(types, { recursive: true });
        fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(types, 'node'), 'dir');
      }
      const tsconfig = { compilerOptions: { ...project.options, strict: true }, files: Object.keys(project.files) };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      if (project.type !== undefined) fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }');
      for (const [name, text] of Object.entries(project.files)) fs.writeFileSync(path.join(dir, name), text);

      const diagnostics = compile(dir);
      const expected = project.defaultImport.map((f) => `${f}(1): TS1192`);
      expect(
        diagnostics.filter((d) => !expected.some((e) => d.startsWith(e))),
        'errors',
      ).to.deep.equal([]);
      for (const e of expected) expect(diagnostics.join('\n'), 'the default import is refused').to.include(e);

      for (const program of project.run) {
        const result = await run(process.execPath, [program], dir, 30000);
        expect(result.stderr, program).to.equal('');
        expect(JSON.parse(result.stdout), program).to.deep.equal(EXPECTED_OUTPUT);
      }
    });
  }
});
