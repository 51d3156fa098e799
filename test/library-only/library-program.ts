// A program that uses only the package entry, as a user of the published package would.
import { once } from 'node:events';
import { isMiyabiError, runCommand, type TaskExecutor, type TaskResult, WorktreePool } from 'miyabi-worktree';

/** What the program saw, for the test to check. */
export interface ProgramReport {
  readonly results: readonly TaskResult<string>[];
  readonly allSuccessful: boolean;
  readonly maxConcurrency: number;
  readonly setup: readonly (readonly string[])[];
  readonly archives: readonly string[];
  readonly refusedDrop: string | undefined;
  readonly dropped: string | undefined;
  /** `<issue>:<status>` of each `task-complete` event, as a typed listener saw it. */
  readonly completed: readonly string[];
  /** The issue of the first `create-complete`, awaited with `events.once` (no cast). */
  readonly firstCreated: number;
}

/**
 * Configuration (read from the repository's file) + `.worktreeinclude` + `setup` + pool + merge +
 * push, then the archives: issue 2's agent forgets to commit, so its work is archived, not merged.
 */
export async function runLibraryProgram(repoPath: string): Promise<ProgramReport> {
  const pool = await WorktreePool.create({ repoPath, merge: {}, push: { remote: 'origin' } });
  const agent: TaskExecutor<string> = async (worktree, task, ctx) => {
    const commit = task.issueNumber === 1;
    const script = [
      "const fs = require('fs'), { execFileSync } = require('child_process');",
      `fs.writeFileSync('done-${task.issueNumber}.txt', fs.readFileSync('.env', 'utf8'));`,
      commit
        ? "execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'done']);"
        : '',
    ].join('\n');
    const run = await runCommand([process.execPath, '-e', script], {
      cwd: worktree.path,
      signal: ctx.signal,
      env: { ...ctx.env },
      output: { file: ctx.logFile },
    });
    if (!run.ok) throw new Error(`agent exited with ${String(run.exitCode)}`);
    return `issue ${task.issueNumber} done`;
  };
  // The manager is an EventEmitter typed by its events: no cast for `events.once`, typed listeners.
  // (`once` also settles on an `error` event, as for any emitter: the first create comes before any.)
  const firstCreated = once(pool.manager, 'create-complete');
  const completed: string[] = [];
  pool.manager.on('task-complete', (event) => completed.push(`${event.issueNumber}:${event.status}`));
  const result = await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], agent);
  const [first] = (await firstCreated) as [{ issueNumber: number }];
  const archives = await pool.manager.listArchives();
  const second = archives.find((archive) => archive.issueNumber === 2);
  let refusedDrop: string | undefined;
  let dropped: string | undefined;
  if (second) {
    try {
      await pool.manager.dropArchive(second.id);
    } catch (error) {
      if (isMiyabiError(error, 'UNMERGED_WORK')) refusedDrop = error.code;
      else throw error;
    }
    dropped = (await pool.manager.dropArchive(second.id, { force: true })).id;
  }
  await pool.manager.flush();
  return {
    results: result.results,
    allSuccessful: result.allSuccessful,
    maxConcurrency: pool.config.maxConcurrency,
    setup: pool.config.prepare.setup,
    archives: archives.map((archive) => archive.id),
    refusedDrop,
    dropped,
    completed,
    firstCreated: first.issueNumber,
  };
}
