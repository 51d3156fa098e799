import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, processAlive, runCli, stoppedAfterEachTest } from './helpers/cli-process.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const startCli = stoppedAfterEachTest();

/** Waits for observable state (a file the check wrote), polling it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(20);
}

// Each run of the check appends a line to $CHECK_RUNS. The second (the task's landing; the first is
// the base's) writes its pid to $HOLD/checking and waits for $HOLD/release, which never comes.
const CHECK = `
const fs = require('fs');
fs.appendFileSync(process.env.CHECK_RUNS, 'run\\n');
const runs = fs.readFileSync(process.env.CHECK_RUNS, 'utf8').split('\\n').filter(Boolean).length;
require('./task1.js');
if (runs === 2 && process.env.HOLD) {
  fs.writeFileSync(process.env.HOLD + '/checking', String(process.pid));
  const until = Date.now() + 60000;
  const look = () => fs.existsSync(process.env.HOLD + '/release') || Date.now() > until ? process.exit(3) : setTimeout(look, 20);
  look();
}
`;

// Commits its file (once) and leaves a note uncommitted.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
fs.appendFileSync(process.env.AGENT_RUNS, 'agent\\n');
if (!fs.readFileSync('task1.js', 'utf8').includes('done')) {
  fs.writeFileSync('task1.js', 'module.exports = "done";\\n');
  execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'task 1']);
}
fs.writeFileSync('notes.txt', 'my notes\\n');
`;

describe('Ctrl-C during a landing', () => {
  it('while the check runs: exit 130, main untouched, the checkout not half updated, the work archived; run --resume lands it', async () => {
    const repo = createTempRepo();
    repo.commit({ 'task1.js': 'module.exports = 1;\n', 'check.js': CHECK }, 'a project with a check');
    const base = git(repo.path, 'rev-parse', 'main');
    const dir = tempDir();
    const env = { CHECK_RUNS: join(dir, 'runs.txt'), AGENT_RUNS: join(dir, 'agent.txt'), HOLD: dir };
    const run = startCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'node check.js',
        '--radar-interval',
        '0',
        '--',
        process.execPath,
        '-e',
        AGENT,
      ],
      { cwd: repo.path, env },
    );
    await until(() => existsSync(join(dir, 'checking')));
    const checkPid = Number(readFileSync(join(dir, 'checking'), 'utf8'));
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    // The check was stopped with the run, and main never took the unchecked candidate.
    expect(processAlive(checkPid)).toBe(false);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(base);
    expect(git(repo.path, 'reflog', 'show', '--format=%H', 'refs/heads/main').split('\n')).not.toContain(
      git(repo.path, 'rev-parse', 'feature/issue-1'),
    );
    // The user's checkout: still on main, at the base, nothing changed in it.
    expect(git(repo.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git(repo.path, 'rev-parse', 'HEAD')).toBe(base);
    expect(git(repo.path, 'status', '--porcelain')).toBe('');
    // The task's commit is on its branch (or in its archive), its uncommitted note saved.
    expect(git(repo.path, 'log', '-1', '--format=%s', 'feature/issue-1')).toBe('task 1');
    expect(git(repo.path, 'for-each-ref', '--format=%(refname)', 'refs/miyabi/')).not.toBe('');

    // run --resume finishes it: it lands, checked, with the note.
    writeFileSync(join(dir, 'release'), '');
    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path, env });
    expect(resumed.code).toBe(0);
    const [task] = json<PoolExecutionResult<RunTaskOutput>>(resumed).results;
    expect(task?.status).toBe('success');
    expect(task?.landing?.checkedCommit).toBe(git(repo.path, 'rev-parse', 'main'));
    expect(readFileSync(join(repo.path, 'task1.js'), 'utf8')).toContain('done');
  });
});
