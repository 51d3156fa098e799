import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PrepareResult, WorktreePool } from '../src/index.js';
import { requireBinary } from './helpers/external-binary.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

/** A repository whose ignored `node_modules` holds a package, with `share` configured. */
function repoWithModules(share: unknown, root?: string): TempRepo {
  const repo = createTempRepo({ files: { 'README.md': '# r\n', '.gitignore': 'node_modules/\n' } });
  if (root) {
    // Moved onto another filesystem: the repository is recreated there.
    execFileSync('cp', ['-a', repo.path, root]);
  }
  const path = root ? join(root, 'repo') : repo.path;
  mkdirSync(join(path, 'node_modules', 'pkg'), { recursive: true });
  writeFileSync(join(path, 'node_modules', 'pkg', 'index.js'), 'module.exports = "main";\n');
  writeFileSync(join(path, 'miyabi-worktree.config.json'), JSON.stringify({ share }));
  return { ...repo, path };
}

async function runOne(repoPath: string, body: (path: string) => void): Promise<PrepareResult | undefined> {
  const pool = await WorktreePool.create({ repoPath });
  const result = await pool.executeParallel([{ issueNumber: 1 }], async (worktree) => body(worktree.path));
  expect(result.results[0], JSON.stringify(result.results[0]?.error)).toMatchObject({ status: 'success' });
  return result.results[0]?.prepare;
}

describe('share', () => {
  it('clone gives each worktree an independent copy (plain copy here), says which and how long, before setup', async () => {
    const repo = repoWithModules([{ path: 'node_modules', mode: 'clone' }]);
    const prepare = await runOne(repo.path, (path) => {
      expect(readFileSync(join(path, 'node_modules', 'pkg', 'index.js'), 'utf8')).toContain('main');
      writeFileSync(join(path, 'node_modules', 'pkg', 'index.js'), 'changed in the worktree\n');
      expect(git(path, 'status', '--porcelain')).toBe('');
    });
    expect(readFileSync(join(repo.path, 'node_modules', 'pkg', 'index.js'), 'utf8')).toBe(
      'module.exports = "main";\n',
    );
    expect(prepare?.shared).toEqual([
      {
        path: 'node_modules',
        mode: 'clone',
        method: expect.stringMatching(/^(copy|reflink)$/),
        durationMs: expect.any(Number),
      },
    ]);
  });

  it('skips a source that does not exist, with a note', async () => {
    const repo = repoWithModules([{ path: '.venv', mode: 'clone' }]);
    const prepare = await runOne(repo.path, () => {});
    expect(prepare?.shared).toEqual([
      expect.objectContaining({
        path: '.venv',
        method: 'skipped',
        note: '.venv does not exist in the main checkout',
      }),
    ]);
  });

  it('symlink links the folder, keeps git status clean, and removal leaves the main checkout intact', async () => {
    const repo = repoWithModules([{ path: 'node_modules', mode: 'symlink' }]);
    let worktreePath = '';
    const prepare = await runOne(repo.path, (path) => {
      worktreePath = path;
      expect(lstatSync(join(path, 'node_modules')).isSymbolicLink()).toBe(true);
      expect(git(path, 'status', '--porcelain')).toBe('');
    });
    expect(prepare?.shared?.[0]).toMatchObject({ method: 'symlink' });
    expect(existsSync(worktreePath)).toBe(false);
    expect(readFileSync(join(repo.path, 'node_modules', 'pkg', 'index.js'), 'utf8')).toContain('main');
    expect(git(repo.path, 'status', '--porcelain')).toBe('?? miyabi-worktree.config.json');
  });

  it('refuses symlink with setup, and a shared path git tracks', async () => {
    const repo = repoWithModules([{ path: 'node_modules', mode: 'symlink' }]);
    await expect(
      WorktreePool.create({ repoPath: repo.path, prepare: { setup: [['npm', 'ci']] } }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('write through the link'),
    });
    const tracked = await WorktreePool.create({
      repoPath: repo.path,
      prepare: { share: [{ path: 'README.md', mode: 'clone' }] },
    });
    await expect(tracked.validate([{ issueNumber: 1 }])).rejects.toMatchObject({
      message: 'share: README.md is tracked by git',
    });
  });

  // It loop-mounts a btrfs image, so it needs root and btrfs-progs; without mkfs.btrfs it skips, and
  // fails under MIYABI_REQUIRE_TEST_BINARIES=1 (CI installs btrfs-progs).
  const isRoot = process.getuid?.() === 0;
  const mkfsBtrfs = isRoot
    ? requireBinary(
        'mkfs.btrfs',
        'the copy-on-write test of shared dependencies',
        ['/usr/sbin/mkfs.btrfs', '/sbin/mkfs.btrfs'],
        'btrfs-progs',
      )
    : undefined;
  it.skipIf(!mkfsBtrfs)(
    'clone uses copy-on-write on a reflink-capable filesystem (loop-mounted btrfs)',
    async () => {
      const mountPoint = tempDir('miyabi-reflink-');
      const image = `${mountPoint}.img`;
      execFileSync('truncate', ['-s', '200M', image]);
      execFileSync(mkfsBtrfs as string, ['-q', '-f', image], { stdio: 'ignore' });
      execFileSync('mount', ['-o', 'loop', image, mountPoint]);
      try {
        const repo = repoWithModules([{ path: 'node_modules', mode: 'clone' }], mountPoint);
        const prepare = await runOne(repo.path, (path) => {
          writeFileSync(join(path, 'node_modules', 'pkg', 'index.js'), 'changed\n');
        });
        expect(prepare?.shared?.[0]).toMatchObject({ method: 'reflink' });
        expect(readFileSync(join(repo.path, 'node_modules', 'pkg', 'index.js'), 'utf8')).toContain('main');
      } finally {
        // Lazy: detached at once even while this process still holds a file there (a plain umount
        // failed as busy); the loop device goes with it.
        execFileSync('umount', ['-l', mountPoint]);
        rmSync(image, { force: true });
      }
    },
  );
});
