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
    // The code ships bundled: the two entries and their chunks, nothing else (no stale modules).
    const code = files.filter((path) => path.endsWith('.js'));
    expect(code.filter((path) => !path.startsWith('dist/chunks/')).sort()).toEqual([
      'dist/cli/main.js',
      'dist/index.js',
    ]);
    // Every type declaration shipped has its source: a build leaves nothing behind from deleted files.
    const orphans = files
      .filter((path) => path.startsWith('dist/') && path.endsWith('.d.ts'))
      .filter((path) => !existsSync(`${root}src/${path.slice('dist/'.length, -'.d.ts'.length)}.ts`));
    expect(orphans).toEqual([]);
  });

  it('loads no OpenTelemetry, proper-lockfile or write-file-atomic until something needs them', () => {
    // What the entry loads on import, as CommonJS files (those three are CommonJS packages).
    const script = `import(${JSON.stringify(`${root}dist/index.js`)}).then(() => console.log(JSON.stringify(Object.keys(require.cache))))`;
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
    ) as string[];
    const packages = loaded.map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1]);
    expect(packages).not.toContain('@opentelemetry/api');
    expect(packages).not.toContain('proper-lockfile');
    expect(packages).not.toContain('write-file-atomic');
  });
});
