import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the published package', () => {
  it('ships no source maps (they would name src/*.ts, which it does not ship) and nothing stale', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as { files: { path: string }[] }[];
    const files = (pack?.files ?? []).map((file) => file.path);
    expect(files).toContain('dist/index.js');
    expect(files.filter((path) => path.endsWith('.map'))).toEqual([]);
    // Every module shipped has its source: a build leaves nothing behind from deleted files.
    const orphans = files
      .filter((path) => path.startsWith('dist/') && path.endsWith('.js'))
      .filter((path) => !existsSync(`${root}src/${path.slice('dist/'.length, -'.js'.length)}.ts`));
    expect(orphans).toEqual([]);
  });
});
