import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import { repoState } from './helpers/repo-state.js';
import { git, tempDir } from './helpers/temp-repo.js';

const mounted: string[] = [];
afterEach(() => {
  for (const dir of mounted.splice(0)) execFileSync('umount', ['-l', dir]);
});

/** A fresh 1 MiB tmpfs (needs root), or undefined when mounting is not allowed here. */
function smallDisk(): string | undefined {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  mounted.push(dir);
  return dir;
}

/** A repository on a full disk's file system, its first commit holding `files`. */
function repoOn(disk: string, files: Record<string, Buffer | string>): string {
  const path = join(disk, 'repo');
  mkdirSync(path);
  git(path, 'init', '-q', '-b', 'main');
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
  git(path, 'add', '-A');
  git(path, 'commit', '-q', '-m', 'initial');
  return path;
}

/** Every `tmp_obj_*` file git left under the git dir. */
function tmpObjects(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => /(^|\/)tmp_obj_/.test(name));
}

async function failure(promise: Promise<unknown>): Promise<MiyabiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MiyabiError);
  return error as MiyabiError;
}

describe('a full disk', () => {
  it('fails an archive saying "No space left on device", leaving no tmp_obj_* and the worktree as it was', async (context) => {
    const disk = smallDisk();
    if (!disk) return context.skip('mount -t tmpfs is not allowed here (needs root)');
    const repo = repoOn(disk, { 'README.md': '# r\n' });
    const manager = await WorktreeManager.open({ repoPath: repo, config: false });
    const worktree = await manager.createWorktree(1);
    // Incompressible and about the free space: the file fits, its object beside it does not.
    const free = Number(
      execFileSync('df', ['--output=avail', '-B1', disk], { encoding: 'utf8' }).split('\n')[1],
    );
    writeFileSync(join(worktree.path, 'big.bin'), randomBytes(Math.floor(free * 0.7)));
    const error = await failure(manager.removeWorktree(worktree.id));
    expect(error.code).toBe('GIT_FAILED');
    expect(error.message).toContain('No space left on device');
    expect(error.hint).toMatch(/disk .* is full/);
    expect(tmpObjects(join(repo, '.git'))).toEqual([]);
    expect(existsSync(join(worktree.path, 'big.bin'))).toBe(true);
    expect((await manager.listWorktrees()).map((w) => w.id)).toEqual([worktree.id]);
  });

  it('fails a create whose checkout does not fit saying "No space left on device", leaving nothing', async (context) => {
    const disk = smallDisk();
    if (!disk) return context.skip('mount -t tmpfs is not allowed here (needs root)');
    // The commit's blob is compressed; its checkout (random bytes) does not fit a second time.
    const repo = repoOn(disk, { 'a.bin': randomBytes(400 * 1024) });
    const manager = await WorktreeManager.open({ repoPath: repo, config: false });
    const before = repoState(repo);
    const error = await failure(manager.createWorktree(1));
    expect(error.code).toBe('GIT_FAILED');
    expect(error.message).toMatch(
      /unable to write file a\.bin: No space left on device \(.* free on the disk holding /,
    );
    expect(error.hint).toMatch(/disk .* is full/);
    expect(repoState(repo)).toEqual(before);
  });
});
