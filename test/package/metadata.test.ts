/**
 * package.json and README.md as the registry shows them: links that resolve on the
 * package's page (absolute links into the repository, each naming a file that exists
 * here), the repository fields, and dependencies that match what the README says.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { root } from './packed';

const REPOSITORY = 'https://github.com/wsproto-ts/wsproto';

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  homepage?: string;
  repository?: { type: string; url: string };
  bugs?: { url: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The markdown links of a text outside fenced code: [text](target). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('package.json and README.md on the registry', () => {
  it('package.json names the repository, its homepage and where to report bugs', () => {
    expect(pkg.repository).to.deep.equal({ type: 'git', url: `git+${REPOSITORY}.git` });
    expect(pkg.homepage).to.equal(`${REPOSITORY}#readme`);
    expect(pkg.bugs).to.deep.equal({ url: `${REPOSITORY}/issues` });
  });

  it('README links to files are absolute (the registry page has no relative files)', () => {
    const relative = links(readme).filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'));
    expect(relative, `write them as ${REPOSITORY}/blob/main/<path> (tree/ for a directory)`).to.deep.equal([]);
  });

  it("README links into the repository name files and directories that exist, with GitHub's blob/tree", () => {
    const wrong: string[] = [];
    for (const link of links(readme).filter((l) => l.startsWith(`${REPOSITORY}/`))) {
      const m = /^https:\/\/github\.com\/wsproto-ts\/wsproto\/(blob|tree)\/main\/([^#]+)/.exec(link);
      if (m === null) {
        if (!/\/(issues|pulls|releases)\b/.test(link)) wrong.push(`${link}: not a blob/main or tree/main link`);
        continue;
      }
      const file = path.join(root, m[2]!);
      if (!fs.existsSync(file)) wrong.push(`${link}: no such file`);
      else if (fs.statSync(file).isDirectory() !== (m[1] === 'tree')) wrong.push(`${link}: blob/tree mismatch`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('zlib-sync is an optional peer and a devDependency (both inflate backends are tested), never installed for users', () => {
    expect(pkg.dependencies ?? {}).to.not.have.property('zlib-sync');
    expect(pkg.optionalDependencies ?? {}).to.not.have.property('zlib-sync');
    expect(pkg.peerDependencies).to.have.property('zlib-sync');
    expect(pkg.peerDependenciesMeta?.['zlib-sync']?.optional).to.equal(true);
    expect(pkg.devDependencies).to.have.property('zlib-sync', pkg.peerDependencies!['zlib-sync']);
    expect(readme).to.include(`\`zlib-sync@${pkg.peerDependencies!['zlib-sync']}\``);
  });

  it("README's dependency sentence is true: one runtime dependency, named, and no types packages", () => {
    const names = Object.keys(pkg.dependencies ?? {});
    expect(names).to.deep.equal(['readable-stream']);
    expect(readme).to.match(/One runtime dependency, `readable-stream`/);
    expect(names.filter((n) => n.startsWith('@types/'))).to.deep.equal([]);
  });
});
