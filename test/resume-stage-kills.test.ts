import { chmodSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type PoolExecutionResult, WorktreeManager } from '../src/index.js';
import { type CliProcess, json, runCli, startCli } from './helpers/cli-process.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

const AGENT = fileURLToPath(new URL('./fixtures/stage-kill-agent.mjs', import.meta.url));
const SETUP = fileURLToPath(new URL('./fixtures/stage-kill-setup.mjs', import.meta.url));
const TOKEN = 'ghp_resumeTOKEN0123456789abcdefSECRET';
const ZERO = '0{40}';
const OID = '[0-9a-f]{40}';

/**
 * A stage boundary; `commit`: during execute, inside the agent's `git commit` (its index locked);
 * `merged`: right after the merge moved main, before the task's result is written.
 */
type Stage = 'create' | 'setup' | 'execute' | 'commit' | 'merge' | 'merged' | 'push' | 'cleanup';

/**
 * A hook that stops the first task to reach the stage: it writes `<dir>/stopped-<stage>` and blocks until
 * the test kills it with the run. Later calls (the other task, the resumed run) pass through.
 */
function blockingHook(dir: string, stage: Stage, match?: string): string {
  const phase = stage === 'merged' ? 'committed' : 'prepared';
  const filter =
    match !== undefined
      ? [`[ "$1" = ${phase} ] || exit 0`, `grep -Eq '${match}' || exit 0`]
      : stage === 'push'
        ? ['cat >/dev/null']
        : [];
  return [
    '#!/bin/sh',
    ...filter,
    `mkdir '${dir}/fired-${stage}' 2>/dev/null || exit 0`,
    `echo ${stage} > '${dir}/stopped-${stage}'`,
    'while :; do sleep 1; done',
    '',
  ].join('\n');
}

function installHook(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** Where each stage's boundary is stopped: a git hook in the repository or the remote, or the fixtures. */
function stopAt(stage: Stage, repo: TempRepo, dir: string, issue = ''): void {
  const refHook = join(repo.path, '.git', 'hooks', 'reference-transaction');
  if (stage === 'create')
    // The task's branch is created inside `worktree add`.
    installHook(refHook, blockingHook(dir, stage, `^${ZERO} ${OID} refs/heads/feature/issue-`));
  if (stage === 'merge' || stage === 'merged')
    installHook(refHook, blockingHook(dir, stage, `^${OID} ${OID} refs/heads/main$`));
  if (stage === 'commit')
    installHook(join(repo.path, '.git', 'hooks', 'pre-commit'), blockingHook(dir, stage));
  if (stage === 'push')
    installHook(join(repo.remote ?? '', 'hooks', 'pre-receive'), blockingHook(dir, stage));
  if (stage === 'cleanup')
    // The task's branch is deleted once its worktree is gone.
    installHook(refHook, blockingHook(dir, stage, `^${OID} ${ZERO} refs/heads/feature/issue-${issue}`));
  // The setup program and the agent stop themselves (see the fixtures).
  if (stage === 'setup' || stage === 'execute') writeFileSync(join(dir, `stop-${stage}`), issue);
}

/** Every process below `root` (from /proc), at this instant. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const next = [root];
  while (next.length > 0) {
    const pid = next.pop() as number;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      next.push(child);
    }
  }
  return found;
}

/** kill -9 of the run and everything it started (agents, setup, git, hooks), frozen first so none escapes. */
function killEverything(run: CliProcess): void {
  const root = run.child.pid as number;
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already.
    }
  };
  const frozen = new Set<number>([root]);
  signal(root, 'SIGSTOP');
  for (let grew = true; grew; ) {
    grew = false;
    for (const pid of descendants(root)) {
      if (frozen.has(pid)) continue;
      frozen.add(pid);
      signal(pid, 'SIGSTOP');
      grew = true;
    }
  }
  for (const pid of frozen) signal(pid, 'SIGKILL');
}

const running: CliProcess[] = [];
afterEach(() => {
  for (const run of running.splice(0)) if (run.child.exitCode === null) killEverything(run);
});

/** Dates every `*.lock` below `dir` (git's and the tool's) a minute back. */
function ageLockFiles(dir: string): void {
  const minuteAgo = new Date(Date.now() - 60_000);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.name.endsWith('.lock')) utimesSync(join(entry.parentPath, entry.name), minuteAgo, minuteAgo);
}

/** Waits for a file a hook, the setup program or an agent writes (observable state, polled). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(20);
}

const TASK_FILES = { 'README.md': '# test repo\n' };
// Above the small-tree limit, `worktree add` runs git's hooks (a small tree is checked out in it, hooks off).
const MANY_FILES = Object.fromEntries(
  Array.from({ length: 1000 }, (_, i) => [`files/f${i}.txt`, `${i}\n`]),
) as Record<string, string>;

const STAGES: readonly Stage[] = [
  'create',
  'setup',
  'execute',
  'commit',
  'merge',
  'merged',
  'push',
  'cleanup',
];

describe.each<[Stage, readonly string[]]>([
  ...STAGES.map((stage) => [stage, []] as [Stage, readonly string[]]),
  // The other task still waiting for its turn.
  ['execute', ['--concurrency', '1']],
  // Worktrees handed on idle instead of removed.
  ...(['execute', 'merged', 'cleanup'] as const).map(
    (stage) => [stage, ['--reuse']] as [Stage, readonly string[]],
  ),
])('kill -9 of the run at %s (%j), then run --resume', (stage, flags) => {
  it('loses nothing, doubles nothing, and its --json covers every task', async () => {
    const repo = createTempRepo({ withRemote: true, files: stage === 'create' ? MANY_FILES : TASK_FILES });
    const dir = tempDir();
    // main not checked out: its merges move it with update-ref, whose reference-transaction hook fires.
    repo.git('checkout', '-q', '--detach');
    writeFileSync(
      join(repo.path, 'miyabi-worktree.config.json'),
      JSON.stringify({ setup: [[process.execPath, SETUP, dir]] }),
    );
    stopAt(stage, repo, dir);
    const run = startCli(
      [
        'run',
        '--issues',
        '1,2',
        '--concurrency',
        '2',
        '--merge',
        '--push',
        ...flags,
        '--radar-interval',
        '0',
        '--json',
        '--',
        process.execPath,
        AGENT,
        dir,
      ],
      { cwd: repo.path },
    );
    running.push(run);
    await until(() => existsSync(join(dir, `stopped-${stage}`)) || run.child.exitCode !== null);
    expect(run.child.exitCode, run.stderr()).toBeNull();
    killEverything(run);
    expect((await run.done).signal).toBe('SIGKILL');
    // The resume comes later, as after a reboot: what the killed processes left is no longer fresh.
    ageLockFiles(join(repo.path, '.git'));

    // What the killed run had recorded as finished must not run again.
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const [batch] = await manager.listBatches();
    const before = await manager.batchRecord(batch?.id);
    const finished = before.results.map((result) => result.issueNumber);

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path });
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = json<PoolExecutionResult>(resumed);
    expect(result.batchId).toBe(before.id);
    expect(result.results.map((task) => [task.issueNumber, task.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
    ]);

    const runs = readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n');
    const onRemote = (ref: string) => git(repo.remote as string, 'rev-parse', ref);
    for (const issue of [1, 2]) {
      // Nothing lost: the commit the agent made is on main and on the remote's task branch.
      const commit = readFileSync(join(dir, `commit-${issue}`), 'utf8');
      repo.git('merge-base', '--is-ancestor', commit, 'main');
      const branch = result.results[issue - 1]?.branchName as string;
      git(repo.remote as string, 'merge-base', '--is-ancestor', commit, onRemote(`refs/heads/${branch}`));
      // Nothing doubled: the work landed once, merged at most once.
      expect(repo.git('log', '--diff-filter=A', '--format=%H', 'main', '--', `work-${issue}.txt`)).toBe(
        commit,
      );
      const merges = repo.git('log', '--merges', '--format=%s', 'main').split('\n');
      expect(merges.filter((subject) => subject.includes(`'${branch}'`)).length).toBeLessThanOrEqual(1);
      // A task that had finished is not run again; the others ran once more at most.
      const ranFor = runs.filter((line) => line.startsWith(`${issue} `));
      if (finished.includes(issue)) expect(ranFor).toEqual([`${issue} first`]);
      for (const kind of ['first', 'resumed'])
        expect(ranFor.filter((line) => line.endsWith(kind)).length).toBeLessThanOrEqual(1);
    }
    // Nothing left behind: no worktree, and nothing to resume.
    const left = await manager.listWorktrees();
    expect(left.filter((worktree) => worktree.status !== 'idle')).toEqual([]);
    if (!flags.includes('--reuse')) expect(left).toEqual([]);
    // Killed between the worktree's removal and its branch's deletion too: the merged branch the
    // batch created goes (the resumed task checked it out again as an existing one).
    expect(repo.git('for-each-ref', '--format=%(refname)', 'refs/heads/feature')).toBe('');
    expect(result.results.filter((task) => task.keptBranch !== undefined)).toEqual([]);
    const again = await runCli(['run', '--resume'], { cwd: repo.path });
    expect(again.code).toBe(2);
  });
});

describe('run --resume of a --pr batch', () => {
  let server: FakeGitHub | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('opens each pull request exactly once and reports them all', async () => {
    const repo = createTempRepo({ withRemote: true });
    const dir = tempDir();
    server = await startFakeGitHub({
      token: TOKEN,
      issues: [
        { number: 1, title: 'First', labels: ['ready'] },
        { number: 2, title: 'Second', labels: ['ready'] },
      ],
    });
    const env = { GITHUB_TOKEN: TOKEN, GH_TOKEN: '' };
    // Issue 1 is killed after its pull request was opened (at its cleanup), issue 2 while its agent runs.
    stopAt('cleanup', repo, dir, '1');
    stopAt('execute', repo, dir, '2');
    const run = startCli(
      [
        'run',
        '--github',
        'octo/hello',
        '--label',
        'ready',
        '--github-api-url',
        server.url,
        '--pr',
        '--concurrency',
        '2',
        '--radar-interval',
        '0',
        '--json',
        '--',
        process.execPath,
        AGENT,
        dir,
      ],
      { cwd: repo.path, env },
    );
    running.push(run);
    await until(
      () =>
        (existsSync(join(dir, 'stopped-cleanup')) && existsSync(join(dir, 'stopped-execute'))) ||
        run.child.exitCode !== null,
    );
    expect(run.child.exitCode, run.stderr()).toBeNull();
    killEverything(run);
    await run.done;
    ageLockFiles(join(repo.path, '.git'));
    const opened = () => server?.requestsTo('POST', /\/pulls$/) ?? [];
    expect(opened().map((request) => (request.body as { head: string }).head)).toEqual([
      'octo:feature/issue-1',
    ]);
    const first = server.pulls[0]?.number;

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = json<PoolExecutionResult>(resumed);
    // Issue 1's pull request was updated, not opened again; issue 2's was opened now.
    expect(
      result.results.map((task) => [task.issueNumber, task.status, task.pr?.number, task.pr?.created]),
    ).toEqual([
      [1, 'success', first, false],
      [2, 'success', server.pulls[1]?.number, true],
    ]);
    expect(opened().map((request) => (request.body as { head: string }).head)).toEqual([
      'octo:feature/issue-1',
      'octo:feature/issue-2',
    ]);
    expect(server.pulls.map((pull) => pull.head)).toEqual(['octo:feature/issue-1', 'octo:feature/issue-2']);
    // Each pushed branch holds its agent's work.
    for (const issue of [1, 2]) {
      const commit = readFileSync(join(dir, `commit-${issue}`), 'utf8');
      git(repo.remote as string, 'merge-base', '--is-ancestor', commit, `refs/heads/feature/issue-${issue}`);
    }
  });
});

describe("a merge that meets the target's lock file a killed git left", () => {
  it('deletes it when stale and merges; a fresh one (a git at work) stays, named in the error', async () => {
    const repo = createTempRepo();
    repo.git('branch', 'release');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const worktree = await manager.createWorktree(1, { baseBranch: 'release' });
    writeFileSync(join(worktree.path, 'work.txt'), 'work\n');
    git(worktree.path, 'add', 'work.txt');
    git(worktree.path, 'commit', '-q', '-m', 'work');
    const lock = join(repo.path, '.git', 'refs', 'heads', 'release.lock');
    writeFileSync(lock, '');

    await expect(manager.mergeWorktree(worktree.id, { into: 'release' })).rejects.toMatchObject({
      hint: expect.stringContaining(`git's lock file ${lock} exists`),
    });
    expect(existsSync(lock)).toBe(true);

    ageLockFiles(join(repo.path, '.git'));
    const merged = await manager.mergeWorktree(worktree.id, { into: 'release' });
    expect(merged.status).toBe('fast-forwarded');
    expect(existsSync(lock)).toBe(false);
    expect(repo.git('rev-parse', 'release')).toBe(git(worktree.path, 'rev-parse', 'HEAD'));
  });
});

describe('run --resume after a kill once a task merged a branch the user had', () => {
  it('keeps that branch: only a branch the batch created is deleted', async () => {
    const repo = createTempRepo({ withRemote: true, files: TASK_FILES });
    const dir = tempDir();
    repo.git('branch', 'feature/issue-1');
    repo.git('checkout', '-q', '--detach');
    writeFileSync(
      join(repo.path, 'miyabi-worktree.config.json'),
      JSON.stringify({ setup: [[process.execPath, SETUP, dir]] }),
    );
    stopAt('merged', repo, dir);
    const run = startCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--radar-interval',
        '0',
        '--json',
        '--',
        process.execPath,
        AGENT,
        dir,
      ],
      { cwd: repo.path },
    );
    running.push(run);
    await until(() => existsSync(join(dir, 'stopped-merged')) || run.child.exitCode !== null);
    expect(run.child.exitCode, run.stderr()).toBeNull();
    killEverything(run);
    await run.done;
    ageLockFiles(join(repo.path, '.git'));

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path });
    expect(resumed.code, resumed.stderr).toBe(0);
    const [task] = json<PoolExecutionResult>(resumed).results;
    expect(task?.keptBranch).toEqual({
      name: 'feature/issue-1',
      reason: 'the branch existed before this worktree',
    });
    const commit = readFileSync(join(dir, 'commit-1'), 'utf8');
    expect(repo.git('rev-parse', 'refs/heads/feature/issue-1')).toBe(commit);
    repo.git('merge-base', '--is-ancestor', commit, 'main');
  });
});
