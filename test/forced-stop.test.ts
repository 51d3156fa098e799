import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGit } from '../src/git/run-git.js';
import { forceStopProcessGroups } from '../src/process/forced-stop.js';
import { runCommand } from '../src/process/run-command.js';
import { processGroup } from '../src/process/terminate.js';
import { eventually } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

// One test per file: a forced stop refuses new processes for the rest of the process's life.
describe.skipIf(process.platform === 'win32')('forceStopProcessGroups', () => {
  it('kills task groups at once but waits for git in a protected checkout, then refuses new processes', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    const gate = join(dir, 'gate');
    execFileSync('mkfifo', [gate]);
    // A git run that holds until the test opens the gate (an alias runs in git's process group).
    const hold = `alias.hold=!touch '${dir}/started'; read x < '${gate}'`;
    const protectedRun = runGit(['-c', hold, 'hold'], {
      cwd: repo.path,
      protectedCheckout: { path: repo.path, repair: 'repair advice' },
    });
    const task = runCommand(['sh', '-c', `echo $$ > '${dir}/task'; exec sleep 30`], { cwd: dir });
    expect(await eventually(() => existsSync(join(dir, 'started')) && existsSync(join(dir, 'task')))).toBe(
      true,
    );
    let protectedAliveWhileWaiting = false;
    const result = await forceStopProcessGroups({
      protectedWaitMs: 60_000,
      onWait: (runs) => {
        expect(runs.map((run) => run.path)).toEqual([repo.path]);
        protectedAliveWhileWaiting = runs.every((run) => processGroup(run.pid).alive());
        // Lets the protected git finish: the forced stop resolves only after it did.
        void writeFile(gate, 'go\n');
      },
    });
    expect(protectedAliveWhileWaiting).toBe(true);
    expect(result).toMatchObject({ killed: 1, interrupted: [] });
    expect(result.finished.map((run) => run.path)).toEqual([repo.path]);
    // The protected git was not killed: it ended as it would have by itself.
    await expect(protectedRun).resolves.toMatchObject({ exitCode: 0 });
    await expect(task).resolves.toMatchObject({ signal: 'SIGKILL', ok: false });
    await expect(runGit(['status'], { cwd: repo.path })).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(runCommand(['true'], { cwd: dir })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
