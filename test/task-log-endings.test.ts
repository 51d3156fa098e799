import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult, TaskLog } from '../src/index.js';
import { eventually, json, processAlive, runCli, stoppedAfterEachTest } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const startCli = stoppedAfterEachTest();

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

/** A task that starts a server in a session of its own (out of its command's process group) and ends. */
/**
 * An agent that leaves a server running in a session of its own, and ends only once the server has
 * left its process group (pid written after setsid, `sleep` exec'd): on a loaded machine the agent
 * could otherwise end first, and the end of its group would take the server with it, no stray left.
 */
function leavesServer(pidFile: string): string[] {
  const server = `setsid sh -c 'echo $$ > "$1"; exec sleep 300' sh '${pidFile}' </dev/null >/dev/null 2>&1 &`;
  const escaped = `until [ -s '${pidFile}' ] && grep -q '^sleep' "/proc/$(cat '${pidFile}')/cmdline" 2>/dev/null; do sleep 0.01; done`;
  return ['sh', '-c', `${server} ${escaped}; echo started`];
}

describe('a task log’s closing line', () => {
  it('says the exit code, the merge and the push of a successful task, as its result does', async () => {
    const repo = createTempRepo({ withRemote: true });
    const ran = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--push',
        '--json',
        '--',
        'sh',
        '-c',
        'echo one > one.txt && git add one.txt && git commit -qm one',
      ],
      { cwd: repo.path },
    );
    expect(ran.code).toBe(0);
    const [result] = json<PoolExecutionResult>(ran).results;
    const merged = repo.git('rev-parse', '--short=7', 'main');
    const log = await runCli(['logs', '1'], { cwd: repo.path });
    expect(lastLine(log.stdout)).toMatch(
      new RegExp(
        `^# miyabi-worktree: ended success in \\S+: exit code 0 · fast-forwarded into main \\(${merged}\\) · pushed origin/feature/issue-1 \\([0-9a-f]{7}\\) · worktree removed$`,
      ),
    );
    expect(result).toMatchObject({ status: 'success', merge: { into: 'main' }, push: { remote: 'origin' } });
  });

  it('says the exit code and error of a failed command, and the timeout of a task that ran out of time', async () => {
    const repo = createTempRepo();
    const failed = await runCli(['run', '--issues', '2', '--keep', '--', 'sh', '-c', 'exit 3'], {
      cwd: repo.path,
    });
    expect(failed.code).toBe(1);
    const log = json<TaskLog & { text: string }>(await runCli(['logs', '2', '--json'], { cwd: repo.path }));
    expect(log.status).toBe('failed');
    expect(lastLine(log.text)).toMatch(
      /^# miyabi-worktree: ended failed at execute in \S+: exit code 3 · COMMAND_FAILED: sh exited with code 3 · worktree kept: \//,
    );

    const slow = await runCli(['run', '--issues', '3', '--timeout', '1s', '--', 'sleep', '60'], {
      cwd: repo.path,
    });
    expect(slow.code).toBe(1);
    const timedOut = await runCli(['logs', '3'], { cwd: repo.path });
    expect(lastLine(timedOut.stdout)).toMatch(
      /^# miyabi-worktree: ended timeout at execute in \S+: .*timed out/,
    );
  });

  it('after a run killed with SIGKILL: the log says its run is gone, and the processes cleanup stopped', async () => {
    const repo = createTempRepo();
    const pidFile = join(tempDir(), 'pid');
    const barrier = join(tempDir(), 'never');
    const cli = startCli(
      [
        'run',
        '--issues',
        '4',
        '--',
        'sh',
        '-c',
        `echo $$ > '${pidFile}'; while [ ! -e '${barrier}' ]; do sleep 0.05; done`,
      ],
      { cwd: repo.path },
    );
    expect(
      await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 30_000),
    ).toBe(true);
    cli.child.kill('SIGKILL');
    await cli.done;
    const agent = Number(readFileSync(pidFile, 'utf8').trim());
    expect(processAlive(agent)).toBe(true);
    const cleanup = await runCli(['cleanup', '--json'], { cwd: repo.path });
    expect(cleanup.code).toBe(0);
    expect(processAlive(agent)).toBe(false);
    const log = (await runCli(['logs', '4'], { cwd: repo.path })).stdout;
    expect(log).toMatch(
      new RegExp(
        `^# miyabi-worktree: stopped \\d+ process\\(es\\) the task left running in its worktree: .*\\b${agent} \\(sh -c`,
        'm',
      ),
    );
    expect(lastLine(log)).toMatch(
      /^# miyabi-worktree: ended without a closing record: the process that ran it \(pid \d+/,
    );
  });
});

describe('stray processes a task leaves in its worktree', () => {
  it('are stopped when its worktree is removed, and listed in its result (stoppedProcesses) and its log', async () => {
    const repo = createTempRepo();
    const pidFile = join(tempDir(), 'server');
    const ran = await runCli(['run', '--issues', '5', '--json', '--', ...leavesServer(pidFile)], {
      cwd: repo.path,
    });
    expect(ran.code).toBe(0);
    const server = Number(readFileSync(pidFile, 'utf8').trim());
    const [result] = json<PoolExecutionResult>(ran).results;
    expect(result?.stoppedProcesses).toEqual([server]);
    expect(processAlive(server)).toBe(false);
    const log = (await runCli(['logs', '5'], { cwd: repo.path })).stdout;
    // `setsid` execs `sleep`: its command line is either, depending on when it was read.
    expect(log).toMatch(
      new RegExp(
        `^# miyabi-worktree: stopped 1 process\\(es\\) the task left running in its worktree: ${server} \\((setsid )?sleep 300\\)$`,
        'm',
      ),
    );
    expect(lastLine(log)).toMatch(new RegExp(`· stopped 1 stray process\\(es\\): ${server}$`));
  });

  it('are stopped when a reusable worktree is handed back idle, and listed likewise', async () => {
    const repo = createTempRepo();
    const pidFile = join(tempDir(), 'server');
    const ran = await runCli(['run', '--issues', '6', '--reuse', '--json', '--', ...leavesServer(pidFile)], {
      cwd: repo.path,
    });
    expect(ran.code).toBe(0);
    const server = Number(readFileSync(pidFile, 'utf8').trim());
    const [result] = json<PoolExecutionResult>(ran).results;
    expect(result).toMatchObject({ keptIdle: true, stoppedProcesses: [server] });
    expect(processAlive(server)).toBe(false);
    const log = (await runCli(['logs', '6'], { cwd: repo.path })).stdout;
    expect(log).toMatch(new RegExp(`its worktree: ${server} \\((setsid )?sleep 300\\)$`, 'm'));

    // Cleaning the idle slot speaks of no branch: it has none.
    const cleanup = await runCli(['cleanup'], { cwd: repo.path });
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toMatch(/^removed slot-[0-9a-f]{8} \(.*\); idle, no branch$/m);
    expect(cleanup.stdout).not.toContain('no longer exists');
  });
});

describe('logs -f on a task that has not started', () => {
  it('waits for it in the running batch, never printing an earlier batch’s log', async () => {
    const repo = createTempRepo();
    const earlier = await runCli(
      ['run', '--issues', '8', '--', 'sh', '-c', 'echo "$((1+1)) from the earlier batch"'],
      {
        cwd: repo.path,
      },
    );
    expect(earlier.code).toBe(0);
    const barrier = join(tempDir(), 'go');
    // One at a time: #7 waits at the barrier, so #8 has not started.
    const batch = startCli(
      [
        'run',
        '--issues',
        '7,8',
        '--concurrency',
        '1',
        '--',
        'sh',
        '-c',
        `while [ "$MIYABI_ISSUE_NUMBER" = 7 ] && [ ! -e '${barrier}' ]; do sleep 0.05; done; echo "$((2+2)) from the new batch"`,
      ],
      { cwd: repo.path },
    );
    expect(await eventually(() => /#7 running/.test(batch.stderr()), 30_000)).toBe(true);
    const follow = startCli(['logs', '-f', '8'], { cwd: repo.path });
    expect(
      await eventually(() => /waiting for issue 8 to start in batch-/.test(follow.stderr()), 15_000),
    ).toBe(true);
    expect(follow.child.exitCode).toBe(null);
    expect(follow.stdout()).toBe('');
    writeFileSync(barrier, '');
    const [followed, ran] = await Promise.all([follow.done, batch.done]);
    expect(ran.code).toBe(0);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('4 from the new batch');
    expect(followed.stdout).not.toContain('2 from the earlier batch');
    expect(lastLine(followed.stdout)).toMatch(/^# miyabi-worktree: ended success/);
  });
});
