import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorktreePool } from '../src/index.js';
import { readProcStat } from '../src/process/proc-stat.js';
import { findTaskProcesses, stopTaskProcesses } from '../src/process/task-processes.js';
import { isOwnerAlive } from '../src/state/owner.js';
import { eventually, processAlive } from './helpers/cli-process.js';
import { createTempRepo } from './helpers/temp-repo.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

function start(argv: string[], env: Record<string, string> = {}, detached = false): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached,
  });
  started.push(child);
  return child;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
  });
}

describe.skipIf(process.platform !== 'linux')('task processes (Linux /proc)', () => {
  it('counts a killed but unreaped owner (a zombie) as dead', async () => {
    // The shell's background sleep becomes a child of `sleep 100`, which never reaps it.
    const parent = start(['sh', '-c', 'sleep 0.1 & echo $!; exec sleep 100']);
    const zombie = Number(await firstLine(parent));
    expect(await eventually(() => readProcStat(zombie)?.live === false, 5_000)).toBe(true);
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isOwnerAlive({ pid: zombie, host: hostname() })).toBe(false);
    expect(isOwnerAlive({ pid: parent.pid as number, host: hostname() })).toBe(true);
  });

  it('finds the processes carrying a worktree id, never the caller or its ancestors', async () => {
    const id = `issue-1-${Math.random().toString(16).slice(2, 10)}`;
    const env = { MIYABI_WORKTREE_ID: id };
    const sibling = start(['sleep', '30'], env);
    const other = start(['sleep', '30'], { MIYABI_WORKTREE_ID: `${id}0` });
    // A shell carrying the id runs node carrying it too (an agent calling the CLI on its own worktree).
    const script = `import('${new URL('../dist/process/task-processes.js', import.meta.url).href}').then((m) => console.log(JSON.stringify(m.findTaskProcesses('${id}').map((p) => p.pid))))`;
    const shell = start(
      ['sh', '-c', `"${process.execPath}" -e "${script.replaceAll('"', '\\"')}"; sleep 30`],
      env,
    );
    const found = JSON.parse(await firstLine(shell)) as number[];
    expect(found).toContain(sibling.pid);
    expect(found).not.toContain(shell.pid);
    expect(found).not.toContain(other.pid);
    expect(findTaskProcesses(id).map((p) => p.pid)).toEqual(expect.arrayContaining([sibling.pid, shell.pid]));
  });

  it('stops a task group that ignores SIGTERM, and a process outside its group', async () => {
    const id = `issue-2-${Math.random().toString(16).slice(2, 10)}`;
    const env = { MIYABI_WORKTREE_ID: id };
    // Leader of its own group, ignoring SIGTERM, with a child that ignores it too.
    const leader = start(
      ['sh', '-c', `trap '' TERM; sh -c "trap '' TERM; echo \\$\\$; sleep 30; true" & wait`],
      env,
      true,
    );
    const child = Number(await firstLine(leader));
    const loner = start(['sleep', '30'], env);
    const stopped = await stopTaskProcesses(id, 300);
    expect(stopped).toEqual(expect.arrayContaining([leader.pid, child, loner.pid]));
    for (const pid of [leader.pid as number, child, loner.pid as number]) {
      expect(await eventually(() => !processAlive(pid), 5_000)).toBe(true);
    }
    expect(findTaskProcesses(id)).toEqual([]);
    expect(await stopTaskProcesses(id)).toEqual([]);
  });

  it("stops a pool task's process that left its group (setsid) before the pool removes the worktree", async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const pidFile = join(repo.path, '..', `escaped-${process.pid}.pid`);
    let escaped = 0;
    try {
      const result = await pool.executeParallel([{ issueNumber: 1 }], async (worktree) => {
        // As an agent's shell would: a background loop in a new session, outside the task's group.
        const loop = `echo $$ > '${pidFile}'; cd '${worktree.path}'; while :; do date > out.txt; sleep 0.05; done`;
        start(['sh', '-c', 'setsid sh -c "$0" >/dev/null 2>&1 &', loop], {
          MIYABI_WORKTREE_ID: worktree.id,
        });
        expect(
          await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5_000),
        ).toBe(true);
        escaped = Number(readFileSync(pidFile, 'utf8'));
        return 'started';
      });
      expect(result.results[0]?.status).toBe('success');
      expect(escaped).toBeGreaterThan(0);
      expect(readProcStat(escaped)?.live === true).toBe(false);
    } finally {
      if (escaped > 0 && readProcStat(escaped)?.live) process.kill(escaped, 'SIGKILL');
    }
  });
});
