import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ManagerWarning, type WorktreeInfo, WorktreeManager } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, type TempRepo } from './helpers/temp-repo.js';

const FIXTURE = new URL('./fixtures/registry-0.1.0.json', import.meta.url);

/** A package `x` in the main checkout's node_modules, and a script that needs it. */
function nodeProject(): TempRepo {
  const repo = createTempRepo({
    files: { 'package.json': '{ "name": "p" }\n', '.gitignore': 'node_modules/\n' },
  });
  repo.write('node_modules/x/package.json', '{ "name": "x", "main": "index.js" }\n');
  repo.write('node_modules/x/index.js', 'module.exports = 1;\n');
  return repo;
}

const RESOLVE_X = ['node', '-e', "require.resolve('x')"];

describe('the default worktree folder', () => {
  it('lies beside the repository, so a task does not resolve the main checkout’s node_modules', async () => {
    const repo = nodeProject();
    expect(spawnSync(RESOLVE_X[0] ?? '', RESOLVE_X.slice(1), { cwd: repo.path }).status).toBe(0);
    const run = await runCli(['run', '--issues', '1', '--keep', '--json', '--', ...RESOLVE_X], {
      cwd: repo.path,
    });
    const result = json<{ results: { status: string; worktreePath: string }[] }>(run);
    expect(result.results[0]?.worktreePath.startsWith(`${repo.path}.worktrees/`)).toBe(true);
    // Node's lookup from the worktree finds no node_modules: the task has no dependencies of its own.
    expect(result.results[0]?.status).toBe('failed');
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('warning');
  });

  it('falls back to .worktrees inside the repository with a one-line note when the folder beside cannot be used', async () => {
    const repo = createTempRepo();
    // A file where the folder would go (a parent that is not writable is the other common case).
    writeFileSync(`${repo.path}.worktrees`, 'in the way\n');
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    expect(manager.worktreeDir).toBe(join(repo.path, '.worktrees'));
    const warnings: ManagerWarning[] = [];
    manager.on('warning', (warning) => warnings.push(warning));
    const first = await manager.createWorktree(1);
    await manager.createWorktree(2);
    expect(dirname(first.path)).toBe(join(repo.path, '.worktrees'));
    // Said once per manager, at its first worktree.
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'WORKTREE_DIR_INSIDE', path: join(repo.path, '.worktrees') }),
    ]);
    expect(warnings[0]?.message).toContain(`${repo.path}.worktrees exists and is not a folder`);
    expect(readFileSync(join(repo.path, '.git/info/exclude'), 'utf8')).toContain('/.worktrees/');

    const cli = await runCli(['create', '3'], { cwd: repo.path });
    expect(cli.code).toBe(0);
    const lines = cli.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toEqual([
      expect.stringMatching(/^miyabi-worktree: warning: worktrees go in \.worktrees inside/),
    ]);
  });

  it('warns once when an in-repository folder lies below the main checkout’s node_modules', async () => {
    const repo = nodeProject();
    const inside = await runCli(['--worktree-dir', '.worktrees', 'create', '1'], { cwd: repo.path });
    expect(inside.code).toBe(0);
    const lines = inside.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^miyabi-worktree: warning: worktrees in \.worktrees .*node_modules.*share/);
    // What the warning is about: from there Node does find the main checkout's package.
    const worktree = json<WorktreeInfo[]>(await runCli(['list', '--json'], { cwd: repo.path }))[0];
    expect(spawnSync(RESOLVE_X[0] ?? '', RESOLVE_X.slice(1), { cwd: worktree?.path }).status).toBe(0);

    const plain = createTempRepo();
    const noModules = await runCli(['--worktree-dir', '.worktrees', 'create', '1'], { cwd: plain.path });
    expect(noModules.code).toBe(0);
    expect(noModules.stderr).toBe('');
  });
});

/**
 * The registry file version 0.1.0 wrote (fixture), for worktrees it made in `<repo>/.worktrees`, the
 * default then; with `dropDir`, without the `worktreeDir` field (older records).
 */
async function repoFromOldVersion(
  dropDir: boolean,
  options: { registry?: boolean } = {},
): Promise<{ repo: TempRepo; records: WorktreeInfo[] }> {
  const repo = createTempRepo();
  const base = repo.git('rev-parse', 'HEAD');
  // Owners: processes of this host that are gone, as after the old version's CLI exited.
  const dead = spawnSync('true').pid;
  const text = readFileSync(FIXTURE, 'utf8')
    .replaceAll('@REPO@', repo.path)
    .replaceAll('@BASE@', base)
    .replaceAll('@HOST@', hostname())
    .replace(/"pid": 10000\d/g, `"pid": ${dead}`);
  const file = JSON.parse(text) as { version: 1; worktrees: (WorktreeInfo & { worktreeDir?: string })[] };
  if (dropDir) for (const record of file.worktrees) delete record.worktreeDir;
  // The git side as that version left it: locked with its reason, excluded from the main checkout.
  for (const record of file.worktrees) {
    repo.git(
      'worktree',
      'add',
      '-q',
      '--lock',
      '--reason',
      `miyabi-worktree pid=${dead} host=${hostname()} branch=created`,
      '-b',
      record.branchName,
      record.path,
      base,
    );
  }
  writeFileSync(join(repo.path, '.git/info/exclude'), '/.worktrees/\n', { flag: 'a' });
  if (options.registry === false) return { repo, records: file.worktrees };
  mkdirSync(join(repo.path, '.git/miyabi'), { recursive: true });
  writeFileSync(join(repo.path, '.git/miyabi/registry.json'), `${JSON.stringify(file, null, 2)}\n`);
  return { repo, records: file.worktrees };
}

describe('worktrees made by an earlier version in .worktrees', () => {
  for (const dropDir of [false, true]) {
    it(`stay ours: listed, removable and cleaned (${dropDir ? 'records without worktreeDir' : 'records of 0.1.0'})`, async () => {
      const { repo, records } = await repoFromOldVersion(dropDir);
      const [first, second] = records;
      if (!first || !second) throw new Error('fixture holds two records');
      const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
      const listed = json<WorktreeInfo[]>(await cli('list', '--json'));
      expect(listed.map((w) => [w.id, w.path])).toEqual([
        [first.id, first.path],
        [second.id, second.path],
      ]);

      const removed = await cli('remove', first.id);
      expect(removed.stderr).toBe('');
      expect(removed.code).toBe(0);
      expect(existsSync(first.path)).toBe(false);

      const cleaned = await cli('cleanup', '--json');
      expect(cleaned.code).toBe(0);
      const report = json<{ removed: { id: string }[]; foreign: unknown[] }>(cleaned);
      expect(report.removed.map((r) => r.id)).toEqual([second.id]);
      expect(report.foreign).toEqual([]);
      expect(existsSync(second.path)).toBe(false);
      expect(json<WorktreeInfo[]>(await cli('list', '--json'))).toEqual([]);
      expect(repo.git('worktree', 'list', '--porcelain')).not.toContain('.worktrees');
    });
  }

  it('without their registry records (a crash before the write): adopted and cleaned by cleanup', async () => {
    const { repo, records } = await repoFromOldVersion(true, { registry: false });
    const cleaned = await runCli(['cleanup', '--json'], { cwd: repo.path });
    expect(cleaned.code).toBe(0);
    const report = json<{ removed: { id: string }[] }>(cleaned);
    expect(report.removed.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    for (const record of records) expect(existsSync(record.path)).toBe(false);
    expect(repo.git('worktree', 'list', '--porcelain')).not.toContain('.worktrees');
  });
});
