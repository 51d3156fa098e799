import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import type { Logger } from '../src/log.js';
import type { ManagerWarning } from '../src/manager/warnings.js';
import { runCli } from './helpers/cli-process.js';
import { createTempRepo } from './helpers/temp-repo.js';

async function expectStateUnavailable(promise: Promise<unknown>, path: string): Promise<MiyabiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MiyabiError);
  expect((error as MiyabiError).code).toBe('STATE_UNAVAILABLE');
  expect((error as MiyabiError).message).toContain(path);
  expect((error as MiyabiError).hint).toContain(path.slice(0, path.indexOf('miyabi') + 'miyabi'.length));
  return error as MiyabiError;
}

/** A logger that keeps what it is given at `warn`. */
function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const noop = () => {};
  return { debug: noop, info: noop, error: noop, warn: (fields) => warnings.push(fields), warnings };
}

describe('an unreadable registry', () => {
  it('is moved aside by listWorktrees with one warning to listeners and the logger', async () => {
    const repo = createTempRepo();
    const logger = recordingLogger();
    const manager = await WorktreeManager.open({ repoPath: repo.path, logger });
    await manager.createWorktree(1);
    const stateDir = join(repo.path, '.git', 'miyabi');
    const truncated = readFileSync(join(stateDir, 'registry.json'), 'utf8').slice(0, 40);
    writeFileSync(join(stateDir, 'registry.json'), truncated);
    const heard: ManagerWarning[] = [];
    manager.on('warning', (warning) => heard.push(warning));
    // Two readers at once (as `status` does): one moves it, one warning.
    const [listed] = await Promise.all([manager.listWorktrees(), manager.stats()]);
    expect(listed).toEqual([]);
    expect(heard).toHaveLength(1);
    const [warning] = heard;
    const aside = readdirSync(stateDir).filter((name) => name.startsWith('registry.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(warning).toMatchObject({ code: 'REGISTRY_UNREADABLE', movedTo: join(stateDir, aside[0] ?? '') });
    expect(warning?.message).toContain(join(stateDir, aside[0] ?? ''));
    expect(warning?.message).toContain('cleanup');
    expect(readFileSync(join(stateDir, aside[0] ?? ''), 'utf8')).toBe(truncated);
    expect(logger.warnings).toEqual([expect.objectContaining({ code: 'REGISTRY_UNREADABLE' })]);
    // Said once: the next read finds no registry and has nothing to say.
    await manager.listWorktrees();
    expect(heard).toHaveLength(1);
  });

  it('makes list and status print one warning line naming the moved file and cleanup', async () => {
    const repo = createTempRepo();
    const created = await runCli(['create', '1'], { cwd: repo.path });
    expect(created.code).toBe(0);
    const registry = join(repo.path, '.git', 'miyabi', 'registry.json');
    writeFileSync(registry, '{"version":1,"worktrees":[{"id":');
    const list = await runCli(['list'], { cwd: repo.path });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('No worktrees');
    const lines = list.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^miyabi-worktree: warning: .*registry\.json\.corrupt-[0-9-]+;.*cleanup/);
    writeFileSync(registry, 'not json');
    const status = await runCli(['status', '--json'], { cwd: repo.path });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ worktrees: [] });
    expect(status.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^miyabi-worktree: warning: .*moved to .*registry\.json\.corrupt-.*cleanup/),
    ]);
  });
});

describe('a state folder that cannot be used', () => {
  it('throws STATE_UNAVAILABLE naming registry.json when it is a folder', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const registry = join(repo.path, '.git', 'miyabi', 'registry.json');
    mkdirSync(registry, { recursive: true });
    await expectStateUnavailable(manager.listWorktrees(), registry);
    await expectStateUnavailable(manager.createWorktree(1), registry);
    expect(existsSync(join(repo.path, '.worktrees'))).toBe(false);
  });

  it('throws STATE_UNAVAILABLE naming .git/miyabi when it is a file', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const stateDir = join(repo.path, '.git', 'miyabi');
    writeFileSync(stateDir, 'in the way\n');
    await expectStateUnavailable(manager.listWorktrees(), stateDir);
    await expectStateUnavailable(manager.createWorktree(1), stateDir);
    const cli = await runCli(['create', '1'], { cwd: repo.path });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(
      /^miyabi-worktree: error \[STATE_UNAVAILABLE\] .*\.git\/miyabi.*\(hint: .*\)\n$/,
    );
  });

  it('throws STATE_UNAVAILABLE when the folder may not be written (immutable)', async (context) => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const stateDir = join(repo.path, '.git', 'miyabi');
    mkdirSync(stateDir);
    try {
      execFileSync('chattr', ['+i', stateDir], { stdio: 'ignore' });
    } catch {
      rmSync(stateDir, { recursive: true });
      context.skip('chattr +i is not available here (needs root and a file system that supports it)');
    }
    try {
      await expectStateUnavailable(manager.createWorktree(1), stateDir);
    } finally {
      execFileSync('chattr', ['-i', stateDir]);
    }
    // Only the registry file immutable: the lock works, the registry write does not.
    const registry = join(stateDir, 'registry.json');
    writeFileSync(registry, '{"version":1,"worktrees":[]}\n');
    execFileSync('chattr', ['+i', registry]);
    try {
      await expectStateUnavailable(manager.createWorktree(1), registry);
    } finally {
      execFileSync('chattr', ['-i', registry]);
    }
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });
});
