import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const execFile = promisify(execFileCallback);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * A copy of the package's files as a clone has them (tracked and new, not ignored), sharing this
 * checkout's node_modules: its build writes its own dist/, never the one the other tests run.
 */
function cloneOfThePackage(): string {
  const copy = tempDir('miyabi-package-');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      copyFileSync(join(root, file), join(copy, file));
    } catch (error) {
      // A file another test writes and deletes meanwhile (the README's examples) is no part of it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

/** npm, without the settings of an `npm test` that runs this file (its script name, its prefix). */
function npm(args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(command|lifecycle_|package_|config_prefix)/i.test(key),
    ),
  );
  return execFile('npm', ['--no-audit', '--no-fund', '--no-update-notifier', ...args], {
    cwd,
    env,
    maxBuffer: 32 * 1024 * 1024,
  });
}

describe('installing the package', () => {
  it('npm ci does not build (prepare skips it), so a clone installs fast', async () => {
    const copy = cloneOfThePackage();
    const { stdout } = await execFile(process.execPath, ['scripts/prepare.mjs'], {
      cwd: copy,
      env: { ...process.env, npm_command: 'ci' },
    });
    expect(stdout).toContain('npm ci does not build dist/');
    expect(existsSync(join(copy, 'dist'))).toBe(false);
  });

  it(
    'npm pack builds dist/, and its tarball installed with npm install -g runs from any folder',
    async () => {
      const copy = cloneOfThePackage();
      expect(existsSync(join(copy, 'dist'))).toBe(false);
      const packs = tempDir('miyabi-tarball-');
      const { stdout } = await npm(['pack', '--json', '--pack-destination', packs], copy);
      const [pack] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
        filename: string;
        files: { path: string }[];
      }[];
      // prepare built it: a clone has no dist/ of its own.
      const packed = pack?.files.map((file) => file.path) ?? [];
      expect(packed).toContain('dist/cli/main.js');
      // The README's links into docs/ work in the installed package too.
      expect(packed).toEqual(expect.arrayContaining(['README.md', 'docs/cli.md', 'docs/timeline.png']));
      const tarball = join(packs, pack?.filename as string);

      // The dependencies come from npm's cache, filled by `npm ci`; the registry only when missing.
      const prefix = tempDir('miyabi-prefix-');
      await npm(['install', '--global', '--prefix', prefix, '--prefer-offline', tarball], tempDir());
      const bin = join(prefix, 'bin', 'miyabi-worktree');
      const elsewhere = tempDir('miyabi-elsewhere-');
      const installed = await execFile(bin, ['--version'], { cwd: elsewhere });
      expect(installed.stdout.trim()).toBe(version);
      // Not only --version: it works in a repository with its installed dependencies.
      const repo = createTempRepo();
      const listed = await execFile(bin, ['list', '--json'], { cwd: repo.path });
      expect(JSON.parse(listed.stdout)).toEqual([]);

      // npx runs the same tarball without installing it.
      const npx = await npm(
        ['exec', '--yes', '--prefer-offline', '--package', tarball, '--', 'miyabi-worktree', '--version'],
        elsewhere,
      );
      expect(npx.stdout.trim()).toBe(version);
    },
    // A whole build, a pack and two installs: 3 minutes on a loaded 2-core machine.
    10 * 60_000,
  );
});
