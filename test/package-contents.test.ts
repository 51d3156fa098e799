import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTempRepo } from './helpers/temp-repo.js';

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
    // package.json says MIT: the licence text travels with the code.
    expect(files).toContain('LICENSE');
    expect(files.filter((path) => path.endsWith('.map'))).toEqual([]);
    // The code ships bundled: the three entries and their chunks, nothing else (no stale modules).
    const code = files.filter((path) => path.endsWith('.js'));
    expect(code.filter((path) => !path.startsWith('dist/chunks/')).sort()).toEqual([
      'dist/cli/main.js',
      'dist/index.js',
      'dist/internal.js',
    ]);
    // Every type declaration shipped has its source: a build leaves nothing behind from deleted files.
    const orphans = files
      .filter((path) => path.startsWith('dist/') && path.endsWith('.d.ts'))
      .filter((path) => !existsSync(`${root}src/${path.slice('dist/'.length, -'.d.ts'.length)}.ts`));
    expect(orphans).toEqual([]);
  });

  /** The packages a node process loads (ES or CommonJS), as a resolve hook sees them. */
  function packagesLoaded(args: readonly string[], cwd = root): Set<string | undefined> {
    const dir = mkdtempSync(join(tmpdir(), 'miyabi-loads-'));
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(r.url + "\\n"); return r; }\n',
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const loaded = spawnSync(process.execPath, ['--import', register, ...args], { cwd, encoding: 'utf8' });
    return new Set(
      loaded.stderr.split('\n').map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]),
    );
  }

  it('loads none of its heavy dependencies until something needs them', () => {
    const packages = packagesLoaded(['-e', `import(${JSON.stringify(`${root}dist/index.js`)})`]);
    // Found at all: else the check below could pass by seeing nothing.
    expect(packages.has('p-queue')).toBe(true);
    for (const heavy of [
      '@opentelemetry/api',
      'proper-lockfile',
      'write-file-atomic',
      'zod',
      'pino',
      'bullmq',
    ])
      expect(packages.has(heavy), heavy).toBe(false);
  });

  it("runs list --json without the table's text-width libraries, the config schema or a logger", () => {
    const repo = createTempRepo();
    const packages = packagesLoaded([`${root}dist/cli/main.js`, 'list', '--json'], repo.path);
    expect(packages.has('commander')).toBe(true);
    for (const heavy of ['string-width', 'slice-ansi', 'zod', 'pino', '@opentelemetry/api'])
      expect(packages.has(heavy), heavy).toBe(false);
  });

  it('answers --version without loading the library or the command table', () => {
    const packages = packagesLoaded([`${root}dist/cli/main.js`, '--version']);
    // The library's first dependency and the CLI parser: neither is needed to print a version.
    for (const heavy of ['p-queue', 'commander']) expect(packages.has(heavy), heavy).toBe(false);
    // And `--help` still reads the library's limits (found at all: else the above proves nothing).
    expect(packagesLoaded([`${root}dist/cli/main.js`, '--help']).has('p-queue')).toBe(true);
  });
});
