/**
 * The README's first minutes stay true (issue 22): it opens with exactly two set-up commands, and its "What `npm
 * test` installs" table names exactly the Debian packages tools/setup-system.sh installs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('README: set-up commands and what npm test installs', () => {
  it('starts with exactly two set-up commands', () => {
    const first = /^# [^\n]+\n\n```bash\n([\s\S]*?)```/.exec(readme);
    assert.ok(first, 'the README opens with a bash block under its title');
    const commands = first[1].split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    assert.deepEqual(
      commands.map((l) => l.split('#')[0].trim()),
      ['npm ci && npm run demo', 'npm test'],
    );
  });

  it("names setup-system.sh's Debian packages, the disk each part takes, and what npm ci needs", () => {
    const script = readFileSync(path.join(ROOT, 'tools', 'setup-system.sh'), 'utf8');
    const pkgs = /^pkgs=\(([^)]*)\)/m.exec(script)![1].split(/\s+/).filter(Boolean);
    const section = readme.split('### What `npm test` installs')[1]?.split(/\n##/)[0];
    assert.ok(section, 'README has a "What `npm test` installs" section');
    const row = section.split('\n').find((l) => l.includes('tools/setup-system.sh'))!;
    const listed = row
      .split('|')[1]
      .split(':')
      .slice(1)
      .join(':')
      .split(',')
      .map((p) => p.trim());
    assert.deepEqual([...listed].sort(), [...pkgs].sort());
    for (const part of ['node_modules', '.cache/e2e', '.cache/bench', 'tools/nano/work'])
      assert.match(section, new RegExp(`${part.replace('.', '\\.')}[^\\n]*\\d+ MB`), `${part} with its size`);
    assert.match(section, /about \d+ packages/);
    assert.doesNotMatch(readme, /offline against the npm registry/);
    assert.match(readme, /`npm ci` needs network access to the npm registry/);
  });
});
