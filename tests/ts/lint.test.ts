/**
 * The layer rules of eslint.config.mjs fail the lint on a wrong import. Each fixture in
 * tests/lint/fixtures is linted as if it lay at the path its first line names (the real lint run
 * ignores the folder), and must give exactly the error its second line names, or none.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const fixtures = join(root, 'tests/lint/fixtures');
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.mjs') });

interface Fixture {
  name: string;
  code: string;
  lintedAs: string;
  /** The error message expected (a part of it), or null for "no error". */
  expected: string | null;
}

function readFixture(name: string): Fixture {
  const code = readFileSync(join(fixtures, name), 'utf8');
  const lintedAs = /^\/\/ Linted as: (\S+)/m.exec(code)?.[1];
  const expected = /^\/\/ Expect: (.+)$/m.exec(code)?.[1];
  if (!lintedAs || !expected) {
    throw new Error(`${name}: expected '// Linted as: <path>' and '// Expect: <message|nothing>'`);
  }
  return { name, code, lintedAs, expected: expected === 'nothing' ? null : expected };
}

const all = readdirSync(fixtures)
  .filter(name => name.endsWith('.ts'))
  .sort()
  .map(readFixture);

async function lintAs(code: string, filePath: string) {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages;
}

describe('layer rules (eslint.config.mjs)', () => {
  it.each(all.map(f => [f.name, f] as const))('%s', async (_name, fixture) => {
    const messages = await lintAs(fixture.code, fixture.lintedAs);
    if (fixture.expected === null) {
      expect(messages).toEqual([]);
    } else {
      expect(messages).toHaveLength(1);
      expect(messages[0].ruleId).toBe('@typescript-eslint/no-restricted-imports');
      expect(messages[0].severity).toBe(2);
      expect(messages[0].message).toContain(fixture.expected);
    }
  });

  it('covers the three cases the issue names', () => {
    const cases = all.map(f => `${f.lintedAs} ${f.expected === null ? 'ok' : 'error'}`);
    expect(cases).toContain('src/core/bad.ts error'); // core importing views
    expect(cases).toContain('src/views/charts/bad.ts error'); // views importing runtime from compute
    expect(cases).toContain('src/views/charts/fine.ts ok'); // views importing types from compute
  });

  it('turns the same import from an error into none when it becomes type-only', async () => {
    const runtime =
      "import { Session } from '../compute/main/session';\nexport const s = Session;\n";
    const typeOnly =
      "import type { Session } from '../compute/main/session';\nexport type S = Session;\n";
    expect(await lintAs(runtime, 'src/views/x.ts')).toHaveLength(1);
    expect(await lintAs(typeOnly, 'src/views/x.ts')).toEqual([]);
  });

  it('leaves the fixtures out of the real lint run', async () => {
    expect(await eslint.isPathIgnored(join(fixtures, all[0].name))).toBe(true);
  });
});
